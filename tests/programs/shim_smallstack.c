// SPDX-License-Identifier: MIT
// Threads with the smallest stacks (PTHREAD_STACK_MIN, 16 KiB) that allocate at several
// recursion depths (tests/integration/shim_stacks.sh). The process's first sample falls in
// such a thread: libunwind's first walk, and any walk deep in a small stack, ran off its end
// (SIGSEGV), at every rate. Prints "ok" and the checksum, and its allocations per depth.
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int depth;

// Each level takes a frame of about 100 bytes: 80 levels use about half the usable stack.
static __attribute__((noinline)) long rec(int d, long x)
{
	volatile char pad[64];
	pad[0] = (char)x;
	if (d == 0) {
		char *p = malloc(16 + (size_t)(x % 500));
		p[0] = 1;
		long r = p[0] + pad[0];
		free(p);
		return r;
	}
	return rec(d - 1, x + 1) + pad[0];
}

static void *thread(void *a)
{
	(void)a;
	long s = 0;
	for (int i = 0; i < 5000; i++)
		s += rec(depth, i);
	return (void *)s;
}

int main(void)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	if (pthread_attr_setstacksize(&at, PTHREAD_STACK_MIN) != 0)
		return 2;
	long sum = 0;
	static const int depths[] = {0, 20, 40, 80};
	for (int k = 0; k < 4; k++) {
		depth = depths[k];
		pthread_t t;
		void *r;
		if (pthread_create(&t, &at, thread, NULL) != 0)
			return 3;
		pthread_join(t, &r);
		sum += (long)r;
	}
	printf("ok %ld\n", sum);
	return 0;
}
