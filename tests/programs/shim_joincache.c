/* SPDX-License-Identifier: MIT */
/* Six threads with 8 MiB stacks, each one malloc and free, joined (tests/integration/
 * shim_threads.sh): glibc keeps the stacks of exited threads in a cache of at most 40 MiB, four
 * of these with their guard pages (the writer's stack is the default size: 8 MiB under the
 * test's ulimit -s 8192). With MAPPROF_INTERVAL the shim's writer thread, joined at exit, put the
 * cache over that limit, and glibc freed the TLS block of a cached thread of the program's: counted
 * as a free of the program's (black-box QA). The totals must be those of a run without it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static char *volatile kept;

static void *work(void *arg)
{
	kept = malloc(10); /* volatile: not optimized away */
	if (kept)
		kept[0] = (char)(long)arg;
	free(kept);
	return NULL;
}

int main(void)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 8u << 20);
	pthread_t t[6];
	int n = 0;
	for (int i = 0; i < 6; i++)
		n += pthread_create(&t[i], &a, work, (void *)(long)i) == 0;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("threads %d\n", n);
	return 0;
}
