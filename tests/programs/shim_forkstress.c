/* SPDX-License-Identifier: MIT */
/* Forks while other threads capture stacks and dumps are being written: a child forked while
 * another thread is inside the loader (libunwind, dl_iterate_phdr) must not hang in its own
 * first capture or exit dump. Threads allocate through many distinct call paths so that
 * libunwind keeps missing its cache. Prints "forks N" when every child was reaped. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;
static void *volatile sink;

#define LEVEL(n, m)                                                                                \
	__attribute__((noinline)) static void level##n(int k)                                      \
	{                                                                                          \
		if (k & (1 << n))                                                                  \
			level##m(k);                                                               \
		else                                                                               \
			level##m(k + 1);                                                           \
		__asm__ volatile("" ::: "memory");                                                 \
	}

__attribute__((noinline)) static void level0(int k)
{
	void *p = malloc(16 + (size_t)(k & 63));
	sink = p;
	free(p);
}
LEVEL(1, 0)
LEVEL(2, 1)
LEVEL(3, 2)
LEVEL(4, 3)
LEVEL(5, 4)

static void *worker(void *arg)
{
	int k = (int)(long)arg;
	while (!stop)
		level5(k++);
	return NULL;
}

int main(int argc, char **argv)
{
	int forks = argc > 1 ? atoi(argv[1]) : 40;
	pthread_t th[3];
	for (long i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	int reaped = 0;
	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (int j = 0; j < 50; j++)
				level5(j * 7);
			exit(0); /* runs the exit dump */
		}
		if (pid > 0 && waitpid(pid, NULL, 0) == pid)
			reaped++;
		if (i % 8 == 0)
			raise(SIGUSR2); /* a dump in flight while the next fork comes */
	}
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("forks %d\n", reaped);
	return 0;
}
