/* SPDX-License-Identifier: MIT */
/* The dump thread and the program's own threads (tests/integration/shim_config.sh):
 *   shim_threadctl mainexit   main calls pthread_exit; the last thread allocates and returns:
 *                             the process must end (exit 0), not live on in the dump thread
 *   shim_threadctl unshare    4 threads call unshare(CLONE_NEWUSER) at once, 50 times (each
 *                             fails with EINVAL: the process is multithreaded): no hang
 * Prints "done" (unshare; mainexit prints it from its last thread). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t bar;

static void *last(void *arg)
{
	(void)arg;
	usleep(200000);
	for (int i = 0; i < 10; i++)
		free(malloc(50));
	printf("done\n");
	fflush(stdout);
	return NULL;
}

static void *racer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) { /* each refused call is retried for 50 ms: 10 s in all */
		pthread_barrier_wait(&bar);
		if (unshare(CLONE_NEWUSER) == 0)
			fprintf(stderr, "unshare succeeded in a multithreaded process\n");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[4];
	if (argc == 2 && !strcmp(argv[1], "mainexit")) {
		if (pthread_create(&t[0], NULL, last, NULL))
			return 2;
		pthread_exit(NULL);
	}
	if (argc == 2 && !strcmp(argv[1], "unshare")) {
		pthread_barrier_init(&bar, NULL, 4);
		for (int i = 0; i < 4; i++)
			if (pthread_create(&t[i], NULL, racer, NULL))
				return 2;
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		printf("done\n");
		return 0;
	}
	return 1;
}
