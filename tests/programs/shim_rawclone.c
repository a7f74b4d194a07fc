/* SPDX-License-Identifier: MIT */
/* A child made by a raw clone system call (tests/integration/shim_life.sh): no fork handlers
 * run in it, so it holds a copy of the shim's state, a writer thread's included, without the
 * thread. Under MAPPROF_INTERVAL or MAPPROF_SIGNAL its exit waited for that thread forever.
 * Usage: shim_rawclone. Prints "child status 4". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	free(malloc(100));
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL);
	if (pid == 0) {
		free(malloc(100));
		exit(4);
	}
	int st = 0;
	if (pid < 0 || waitpid((pid_t)pid, &st, 0) != pid)
		return 1;
	printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
