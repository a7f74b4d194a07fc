/* SPDX-License-Identifier: MIT */
/* errno is the program's: a successful malloc, realloc, calloc, posix_memalign or free leaves it
 * as the program set it, also when the call is sampled and its stack unwound (libunwind's
 * memory check reads a non-blocking pipe and met EAGAIN, now and then). Four threads, frames of
 * varying depth; prints "errno changed N times". main starts with errno 0, as C says (the
 * shim's start, libunwind's warm-up read of its pipe, left EAGAIN): counted as a change too.
 * Usage: shim_errno [ITERATIONS=50000] */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int changed; /* atomic */
static long iters = 50000;

static void expect(int want)
{
	if (errno != want)
		__atomic_add_fetch(&changed, 1, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static void work(int depth, long i)
{
	if (depth) {
		work(depth - 1, i);
		return;
	}
	errno = 4242;
	void *p = malloc(16 + (size_t)(i % 5000));
	expect(4242);
	errno = 4343;
	void *q = realloc(p, 100 + (size_t)(i % 3000));
	expect(4343);
	errno = 4444;
	free(q);
	expect(4444);
	errno = 4545;
	void *c = calloc(3, 100);
	expect(4545);
	void *a = NULL;
	errno = 4646;
	if (posix_memalign(&a, 64, 1000) == 0)
		free(a);
	expect(4646);
	free(c);
}

static void *thread(void *arg)
{
	for (long i = 0; i < iters; i++)
		work((int)(i % 7), i);
	return arg;
}

int main(int argc, char **argv)
{
	expect(0);
	if (argc > 1)
		iters = atol(argv[1]);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, thread, NULL) != 0)
			return 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("errno changed %d times\n", changed);
	return 0;
}
