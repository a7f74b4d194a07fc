/* SPDX-License-Identifier: MIT */
/* Review regressions. "realloc": a sampled block whose realloc fails stays in use. "freeonly":
 * a thread that only frees is counted as a thread and its frees are exact. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile keep;
static void *blocks[1000];

__attribute__((noinline)) static void *realloc_site(void)
{
	return malloc(4096);
}

static void *freer(void *arg)
{
	for (int i = 0; i < 1000; i++)
		free(blocks[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "realloc")) {
		void *p = realloc_site();
		void *q = realloc(p, SIZE_MAX - 4096); /* fails: p stays valid */
		keep = p;
		printf("realloc %s\n", q == NULL ? "failed" : "succeeded");
		return 0;
	}
	for (int i = 0; i < 1000; i++)
		blocks[i] = malloc(32);
	pthread_t th;
	pthread_create(&th, NULL, freer, NULL);
	pthread_join(th, NULL);
	printf("freed\n");
	return 0;
}
