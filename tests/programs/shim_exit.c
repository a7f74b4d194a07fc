/* SPDX-License-Identifier: MIT */
/* Processes that end without destructors (tests/integration/shim_life.sh): a fork child that
 * does its work (30 x malloc(77) in child_work, kept) and leaves with _exit(3); a vfork child
 * that leaves with _exit(4) at once; then the parent (10 x malloc(99) in parent_work) leaves
 * with _Exit(5). Prints the children's statuses. */
#include <stdio.h>
#include <stdlib.h>
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

int main(void)
{
	int st;
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
