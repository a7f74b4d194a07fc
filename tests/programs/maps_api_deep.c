/* SPDX-License-Identifier: MIT */
/* A home-made table that reports its grows through the public API from 100 frames down, deeper
 * than the stack captured, in functions named like mapprof's own (mapprof_*), which --maps
 * skips as the map's code: every frame of the captured stack is then "the implementation's", as
 * when a stack is cut short (tests/integration/churn.sh). The report names the site by its
 * innermost frame and says, on stderr, that sites may have merged. Prints "deep maps 5 grows 5". */
#include <stdint.h>
#include <stdio.h>
#include "mapprof.h"

static char maps[5];

static __attribute__((noinline)) int mapprof_test_descend(int level, int i)
{
	if (level == 0) {
		MAPPROF_MAP_CREATE(&maps[i]);
		MAPPROF_MAP_GROW(&maps[i], 8, 16, 6, 128, 100);
		MAPPROF_MAP_DESTROY(&maps[i], 7);
		return i;
	}
	int r = mapprof_test_descend(level - 1, i);
	__asm__ volatile("" : "+r"(r)); /* no tail call: every level keeps its frame */
	return r + 1;
}

int main(void)
{
	int sum = 0;
	for (int i = 0; i < 5; i++)
		sum += mapprof_test_descend(100, i);
	printf("deep maps 5 grows 5 (%d)\n", sum);
	return 0;
}
