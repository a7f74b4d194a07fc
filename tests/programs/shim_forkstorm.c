/* SPDX-License-Identifier: MIT */
/* Fork children under a storm of MAPPROF_SIGNAL (tests/integration/shim_life.sh): the parent
 * forks N children one after another; each allocates a little, sleeps 5 ms and leaves with
 * _exit, while the test signals the whole process group in a loop. A signal pending as a child
 * started its dump thread made it dump under the parent's identity (no fork-child flag, the
 * parent's start time and seed): about 1 dump in 1,000, each one a process too many in
 * reports. Prints "forks N bad B". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300, bad = 0;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			for (int j = 0; j < 100; j++) {
				void *volatile q = malloc(64);
				free(q);
			}
			usleep(5000);
			_exit(0);
		}
		int st;
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	printf("forks %d bad %d\n", n, bad);
	return bad != 0;
}
