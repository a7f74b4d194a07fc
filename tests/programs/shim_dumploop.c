/* SPDX-License-Identifier: MIT */
/* Dumps in a loop (tests/integration/shim_config.sh): 5,000 live objects at a few hundred
 * stacks, "ready" on stdout, then mapprof_dump() until killed (or 500 dumps, so that a test that
 * failed to kill it cannot fill the disk). A SIGKILL lands while a dump is being written nearly
 * every time: the output directory must hold only complete dumps. */
#include <stdio.h>
#include <stdlib.h>
#include "mapprof.h"

static void *keep[5000];

__attribute__((noinline)) static void *deep(int d, size_t n)
{
	if (d == 0)
		return malloc(n);
	void *p = deep(d - 1, n);
	__asm__ volatile("" ::: "memory");
	return p;
}

int main(void)
{
	for (int i = 0; i < 5000; i++)
		keep[i] = deep(i % 300, 16 + i % 64);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 500; i++)
		if (MAPPROF_DUMP() != 0)
			return 1;
	return 0;
}
