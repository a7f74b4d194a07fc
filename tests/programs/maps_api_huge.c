/* SPDX-License-Identifier: MIT */
/* Maps past 2^31 elements, through the public API (tests/integration/churn.sh): 20 maps, each
 * growing twice and dying with 6e9 elements. The final-size histogram's last bucket holds
 * every size from 2^30 up: the percentiles, and presize's reserve(), must come out at 6e9, not
 * at 2^31 - 1. */
#include <stdio.h>
#include "mapprof.h"

int main(void)
{
	static char maps[20];
	for (int i = 0; i < 20; i++) {
		MAPPROF_MAP_CREATE(&maps[i]);
		MAPPROF_MAP_GROW(&maps[i], 1u << 30, 1ul << 31, 3000000000ul, 16ul << 30, 1000);
		MAPPROF_MAP_GROW(&maps[i], 1ul << 31, 1ul << 32, 5000000000ul, 32ul << 30, 1000);
		MAPPROF_MAP_DESTROY(&maps[i], 6000000000ul);
	}
	puts("huge maps 20");
	return 0;
}
