// SPDX-License-Identifier: MIT
// A vfork child whose exec fails and that leaves with exit(127), a common pattern
// (tests/integration/shim_life.sh): that exit runs the parent's exit handlers, in the parent's
// memory. Its dump was the parent's state under the child's pid, and the parent wrote none.
// Usage: shim_vfork_exit exit|return (how the parent ends: exit(0) or return from main).
// Prints the pids.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile sink;

__attribute__((noinline)) static void before_vfork(void)
{
	for (int i = 0; i < 100; i++)
		sink = malloc(10);
}

__attribute__((noinline)) static void after_vfork(void)
{
	for (int i = 0; i < 5000; i++)
		sink = malloc(10);
}

int main(int argc, char **argv)
{
	int status = 0;
	before_vfork();
	pid_t child = vfork();
	if (child == 0) {
		execlp("mapprof-no-such-command", "x", (char *)NULL);
		exit(127);
	}
	waitpid(child, &status, 0);
	after_vfork();
	printf("parent %d child %d status %d\n", (int)getpid(), (int)child, WEXITSTATUS(status));
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "exit"))
		exit(0);
	return 0;
}
