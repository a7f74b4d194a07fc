// SPDX-License-Identifier: MIT
/* A program that looks for its command itself (tests/integration/shim_life.sh): 200 execv and
 * execve calls on paths where there is no file (ENOENT, ENOTDIR), as a PATH search made by hand
 * does, then exit(0). Each wrote a dump of the old image: one process, 201 files. Prints the
 * failures it saw. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;
void *volatile keep;

int main(void)
{
	char *argv[] = {"nothing", NULL};
	int enoent = 0, enotdir = 0;
	for (int i = 0; i < 100; i++) {
		keep = malloc(100);
		execv("/nonexistent-mapprof/bin/nothing", argv);
		enoent += errno == ENOENT;
		execve("/dev/null/nothing", argv, environ);
		enotdir += errno == ENOTDIR;
	}
	printf("ENOENT %d ENOTDIR %d\n", enoent, enotdir);
	return 0;
}
