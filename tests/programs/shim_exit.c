/* SPDX-License-Identifier: MIT */
/* Processes that end without destructors (tests/integration/shim_life.sh): a fork child that
 * does its work (30 x malloc(77) in child_work, kept) and leaves with _exit(3); a vfork child
 * that leaves with _exit(4) at once; then the parent (10 x malloc(99) in parent_work) leaves
 * with _Exit(5). Prints the children's statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile keep;

__attribute__((noinline)) void child_work(void)
{
	for (int i = 0; i < 30; i++)
		keep = malloc(77);
}

__attribute__((noinline)) void parent_work(void)
{
	for (int i = 0; i < 10; i++)
		keep = malloc(99);
}

/* "quick": 12 x malloc(55) in quick_work, then quick_exit(6), whose handler makes 4 x
 * malloc(33) in quick_handler: one dump holding both (quick_exit ends the process through
 * glibc's own _exit, not the interposed one). */
__attribute__((noinline)) void quick_handler(void)
{
	for (int i = 0; i < 4; i++)
		keep = malloc(33);
	printf("quick handler\n");
	fflush(stdout);
}

__attribute__((noinline)) void quick_work(void)
{
	for (int i = 0; i < 12; i++)
		keep = malloc(55);
}

int main(int argc, char **argv)
{
	int st;
	if (argc > 1 && strcmp(argv[1], "quick") == 0) {
		at_quick_exit(quick_handler);
		quick_work();
		quick_exit(6);
	}
	pid_t p = fork();
	if (p == 0) {
		child_work();
		_exit(3);
	}
	waitpid(p, &st, 0);
	printf("child %d\n", WEXITSTATUS(st));
	pid_t v = vfork();
	if (v == 0)
		_exit(4);
	waitpid(v, &st, 0);
	printf("vfork child %d\n", WEXITSTATUS(st));
	parent_work();
	fflush(stdout);
	_Exit(5);
}
