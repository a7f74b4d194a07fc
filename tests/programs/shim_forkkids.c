/* SPDX-License-Identifier: MIT */
/* Fork children that each do the same work and leave with _exit (as Python's multiprocessing
 * workers do) (tests/integration/shim_life.sh): 60 children, one after another, each makes
 * 300 x malloc(1000) in kid_work (kept) and calls _exit(0). Every child must leave a dump
 * with its exact counts, and at the default rate the children must sample independently (a
 * child inherits its parent's sampler: without a reseed all sample alike, all or none). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile keep;

__attribute__((noinline)) void kid_work(void)
{
	for (int i = 0; i < 300; i++)
		keep = malloc(1000);
}

int main(void)
{
	int ok = 0;
	for (int k = 0; k < 60; k++) {
		pid_t p = fork();
		if (p == 0) {
			kid_work();
			_exit(0);
		}
		int st;
		if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	printf("children %d\n", ok);
	return 0;
}
