/* SPDX-License-Identifier: MIT */
/* Races of the program's descriptor and credential calls with the profiler's dumps
 * (tests/integration/shim_fds.sh), one per argv[1]:
 *   closeexit   a thread loops close_range(1000, 2000); a signal handler on it calls _exit(7):
 *               the exit dump must not wait for that very close (it hung)
 *   dup2 SECS   fds 3 and 4 taken, so 5 is the lowest free; dup2(3, 5) and close(5) in a loop
 *               while SIGUSR2 asks for dumps: neither may fail (EBUSY: the dump was opening 5;
 *               EBADF: the dump took 5 and closed it)
 *   clone       200 children made by a raw clone (no atfork handler) right after asking for a
 *               dump; each calls closefrom(3) and _exit: none may wait for the parent's dump
 *   seteuid     seteuid every 0.5 s for 5 s: MAPPROF_INTERVAL=1 dumps must go on (the dump
 *               thread's restarts had reset its interval) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_usr1(int s)
{
	(void)s;
	_exit(7);
}

static void *close_loop(void *a)
{
	(void)a;
	for (;;)
		close_range(1000, 2000, 0);
	return NULL;
}

static volatile int stop;

static void *ask_dumps(void *a)
{
	(void)a;
	while (!stop) {
		kill(getpid(), SIGUSR2);
		usleep(200);
	}
	return NULL;
}

static char stk[1 << 16] __attribute__((aligned(16)));

static int clone_child(void *a)
{
	(void)a;
	closefrom(3);
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	void *keep[200];
	for (int i = 0; i < 200; i++)
		keep[i] = malloc(64 + (size_t)i); /* something to dump */
	if (!strcmp(mode, "closeexit")) {
		signal(SIGUSR1, on_usr1);
		pthread_t t;
		pthread_create(&t, NULL, close_loop, NULL);
		usleep(100000);
		pthread_kill(t, SIGUSR1);
		pthread_join(t, NULL);
		return 0;
	}
	if (!strcmp(mode, "dup2") && argc > 2) {
		int a = open("/dev/null", O_WRONLY), b = open("/dev/null", O_WRONLY);
		if (a != 3 || b != 4)
			return 2;
		pthread_t t;
		pthread_create(&t, NULL, ask_dumps, NULL);
		long n = 0, ebusy = 0, ebadf = 0, other = 0;
		time_t end = time(NULL) + atoi(argv[2]);
		while (time(NULL) < end) {
			for (int k = 0; k < 10000; k++, n++) {
				if (dup2(3, 5) != 5) {
					errno == EBUSY ? ebusy++ : other++;
					continue;
				}
				if (close(5) != 0)
					errno == EBADF ? ebadf++ : other++;
			}
		}
		stop = 1;
		pthread_join(t, NULL);
		printf("dup2 EBUSY %ld close EBADF %ld other %ld\n", ebusy, ebadf, other);
		return n > 0 ? 0 : 1;
	}
	if (!strcmp(mode, "clone")) {
		int n = 0;
		for (int i = 0; i < 200; i++) {
			kill(getpid(), SIGUSR2);
			for (volatile int k = 0; k < (i % 50) * 2000; k++)
				;
			pid_t p = clone(clone_child, stk + sizeof(stk), SIGCHLD, NULL);
			if (p > 0 && waitpid(p, NULL, 0) == p)
				n++;
		}
		printf("children %d\n", n);
		return 0;
	}
	if (!strcmp(mode, "seteuid")) {
		for (int i = 0; i < 10; i++) {
			free(malloc(1000));
			usleep(500000);
			if (seteuid(geteuid()) != 0)
				return 1;
		}
		return 0;
	}
	(void)keep;
	return 2;
}
