/* SPDX-License-Identifier: MIT */
/* A child made by a raw clone system call (tests/integration/shim_life.sh): no fork handlers
 * run in it, so it holds a copy of the shim's state, a writer thread's included, without the
 * thread. Under MAPPROF_INTERVAL or MAPPROF_SIGNAL its exit waited for that thread forever.
 * Usage: shim_rawclone [newpid]: with newpid the child is pid 1 of a new pid namespace (run
 * the program as pid 1 of its own: the pid alone could not tell the two apart).
 * Prints "child status 4". */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long flags = SIGCHLD | (argc > 1 && argv[1][0] == 'n' ? CLONE_NEWPID : 0);
	free(malloc(100));
	long pid = syscall(SYS_clone, flags, 0UL, 0UL, 0UL, 0UL);
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
