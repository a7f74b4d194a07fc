/* SPDX-License-Identifier: MIT */
/* exit() from a thread while three others keep allocating (tests/integration/shim_threads.sh):
 * the exit dump is taken with the allocating threads running. In exact mode its totals may
 * exceed its samples only by the calls in flight, one a thread. Prints "exiting", exits 42. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *spin(void *arg)
{
	for (;;) {
		void *p = malloc(64);
		__asm__ volatile("" ::"r"(p) : "memory"); /* not optimized away */
		free(p);
	}
	return arg;
}

static void *leave(void *arg)
{
	usleep(30000);
	printf("exiting\n");
	exit(42);
	return arg;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, spin, NULL) != 0)
			return 1;
	if (pthread_create(&t[3], NULL, leave, NULL) != 0)
		return 1;
	pause();
	return 0;
}
