/* SPDX-License-Identifier: MIT */
/* A chain of execs under a storm of MAPPROF_SIGNAL (tests/integration/shim_life.sh): each image
 * allocates a little, sleeps 20 ms and execs itself with N-1; the last prints "done N". Between
 * an exec and the new image's shim taking the signal over, USR1's default action (death) used
 * to apply: the storm killed the chain. Usage: shim_execsig N */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	for (int i = 0; i < 10; i++)
		free(malloc(100));
	struct timespec ts = {0, 20 * 1000 * 1000};
	while (nanosleep(&ts, &ts) != 0)
		;
	if (n <= 0) {
		printf("done %s\n", argv[2] ? argv[2] : "?");
		return 0;
	}
	char next[16];
	snprintf(next, sizeof(next), "%d", n - 1);
	execl("/proc/self/exe", argv[0], next, argv[2] ? argv[2] : argv[1], (char *)NULL);
	perror("exec");
	return 1;
}
