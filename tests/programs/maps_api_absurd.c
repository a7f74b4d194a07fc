/* SPDX-License-Identifier: MIT */
/* Absurd values through the public API (tests/integration/churn.sh): one map reports a grow of
 * SIZE_MAX bytes and UINT64_MAX ns and then a normal one (ABSURD_LINE); 10 others report
 * 128-byte grows (NORMAL_LINE). No sum may wrap below its parts: the site and the summary
 * read at least SIZE_MAX bytes (they wrapped to 127 and to about 1.3 kB). The UINT64_MAX ns,
 * longer than the process has run, are taken as unmeasured (one mapprof: line). Calls on NULL make
 * no map (they made one, grown); one map reports "grows" to fewer or as many buckets, which are
 * no grows (they counted as 3, one of them "sized up front"), and its size. */
#include <stdint.h>
#include <stdio.h>
#include "mapprof.h"

static char maps[11];

int main(void)
{
	MAPPROF_MAP_CREATE(&maps[0]);
	MAPPROF_MAP_GROW(&maps[0], 8, 16, 4, SIZE_MAX, UINT64_MAX); /* ABSURD_LINE */
	MAPPROF_MAP_GROW(&maps[0], 16, 32, 12, 128, 100);	    /* ABSURD_LINE2 */
	MAPPROF_MAP_DESTROY(&maps[0], 20);
	for (int i = 1; i < 11; i++) {
		MAPPROF_MAP_CREATE(&maps[i]);
		MAPPROF_MAP_GROW(&maps[i], 8, 16, 4, 128, 100); /* NORMAL_LINE */
		MAPPROF_MAP_DESTROY(&maps[i], 10);
	}
	MAPPROF_MAP_CREATE(NULL);
	MAPPROF_MAP_GROW(NULL, 8, 16, 4, 128, 100);
	MAPPROF_MAP_RESERVE(NULL, 8, 16, 4, 128, 100);
	MAPPROF_MAP_DESTROY(NULL, 4);
	static char shrink;
	MAPPROF_MAP_CREATE(&shrink);
	MAPPROF_MAP_GROW(&shrink, 1024, 16, 5, 128, 100);
	MAPPROF_MAP_GROW(&shrink, 64, 64, 6, 512, 0);
	MAPPROF_MAP_RESERVE(&shrink, 1024, 8, 7, 64, 0);
	MAPPROF_MAP_DESTROY(&shrink, 7);
	puts("absurd 1 normal 10 shrink 1");
	return 0;
}
