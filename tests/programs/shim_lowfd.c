// SPDX-License-Identifier: MIT
/* A program that relies on POSIX's lowest free descriptor, as daemons and shells do (close(0)
 * and open("/dev/null"), close(1) and open(log) to redirect stdout), while the profiler writes
 * dumps (MAPPROF_INTERVAL, MAPPROF_SIGNAL) from its own thread. A dump's file took the number
 * the program had just freed, for as long as writing it took: the program's open got another
 * number, and with stdout redirected its writes went into the dump.
 *   shim_lowfd loop SECONDS THREADS: allocates from many stacks (large dumps, long writes),
 *     then until SECONDS have passed closes 0 and opens /dev/null, expecting 0; THREADS more
 *     threads make short threads meanwhile (a thread's first capture reads /proc/self/maps).
 *     Prints the count of wrong numbers; exits 1 if there were any.
 *   shim_lowfd watch SECONDS THREADS: the same allocations, then closes 0 and watches it
 *     (readlink of /proc/self/fd/0, no descriptor) until SECONDS have passed: whatever appears
 *     there is the profiler's. Deterministic where loop is a race: a dump's write holds its
 *     file for milliseconds. Prints what it saw; exits 1 if it saw anything. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;

__attribute__((noinline)) static void *level(int d, size_t n)
{
	if (d == 0)
		return malloc(n);
	void *p = level(d - 1, n + 1);
	__asm__ volatile("" ::: "memory");
	return p;
}

static void *churn(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_t t; /* short threads: each one's first capture looks up its stack */
		if (pthread_create(&t, NULL, (void *(*)(void *))level, NULL) == 0)
			pthread_join(t, NULL);
		free(level(3, 4096));
	}
	return NULL;
}

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	bool watch = argc > 1 && strcmp(argv[1], "watch") == 0;
	double secs = argc > 2 ? atof(argv[2]) : 3;
	int nthreads = argc > 3 ? atoi(argv[3]) : 0;
	for (int i = 0; i < 3000; i++) /* many distinct stacks: dumps take a while to write */
		free(level(i % 60, 100000 + (size_t)i));
	pthread_t th[8];
	for (int i = 0; i < nthreads && i < 8; i++)
		pthread_create(&th[i], NULL, churn, NULL);
	long bad = 0, iters = 0;
	char seen[4096] = "";
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (watch)
		close(0);
	do {
		if (watch) {
			char l[4096];
			ssize_t n = readlink("/proc/self/fd/0", l, sizeof(l) - 1);
			if (n > 0) {
				l[n] = 0;
				if (!bad++)
					snprintf(seen, sizeof(seen), "%s", l);
			}
		} else {
			close(0);
			int fd = open("/dev/null", O_RDONLY);
			if (fd != 0) {
				bad++;
				if (fd > 0) {
					dup2(fd, 0);
					close(fd);
				}
			}
		}
		iters++;
	} while (since(&t0) < secs);
	stop = 1;
	for (int i = 0; i < nthreads && i < 8; i++)
		pthread_join(th[i], NULL);
	if (watch)
		printf("descriptor 0 taken in %ld of %ld looks%s%s\n", bad, iters, bad ? ": " : "",
		       seen);
	else
		printf("wrong %ld of %ld\n", bad, iters);
	return bad ? 1 : 0;
}
