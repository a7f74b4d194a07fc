/* SPDX-License-Identifier: MIT */
/* A fork child's dump names (tests/integration/shim_config.sh): the parent dumps three times
 * through mapprof_dump() under a template without %n (its names take suffixes .1, .2), then
 * forks; the child dumps once. The child inherited where its parent's names stood, and its
 * first dump took suffix .2 where its own name was free. Prints the child's pid. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mapprof.h"

int main(void)
{
	for (int i = 0; i < 3; i++) {
		free(malloc(100));
		MAPPROF_DUMP();
	}
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		free(malloc(100));
		MAPPROF_DUMP();
		_exit(0);
	}
	if (c < 0 || waitpid(c, NULL, 0) != c)
		return 1;
	printf("%d\n", (int)c);
	return 0;
}
