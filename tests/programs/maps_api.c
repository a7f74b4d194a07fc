/* SPDX-License-Identifier: MIT */
/* The public map API example: a toy open-addressing set of ints that reports its life to
 * mapprof with the MAPPROF_MAP_* macros (weak: the program runs unchanged without the shim).
 * api_fill makes `tables` sets of 100 items each (grows counted by the set itself);
 * api_reserve presizes one set (an explicit grow). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "mapprof.h"

struct iset {
	int *slot; /* 0 = empty; keys are > 0 */
	size_t cap, n;
	unsigned grows;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void iset_init(struct iset *s)
{
	s->cap = 8;
	s->n = 0;
	s->grows = 0;
	s->slot = calloc(s->cap, sizeof(int));
	MAPPROF_MAP_CREATE(s);
}

static void put(int *slot, size_t cap, int key)
{
	size_t i = (size_t)key * 2654435761u % cap;
	while (slot[i] && slot[i] != key)
		i = (i + 1) % cap;
	slot[i] = key;
}

static void iset_resize(struct iset *s, size_t cap, int explicit_)
{
	uint64_t t0 = now_ns();
	int *n = calloc(cap, sizeof(int));
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i])
			put(n, cap, s->slot[i]);
	free(s->slot);
	size_t from = s->cap;
	s->slot = n;
	s->cap = cap;
	if (explicit_) {
		MAPPROF_MAP_RESERVE(s, from, cap, s->n, cap * sizeof(int), now_ns() - t0);
	} else {
		s->grows++;
		MAPPROF_MAP_GROW(s, from, cap, s->n, cap * sizeof(int), now_ns() - t0);
	}
}

static void iset_add(struct iset *s, int key)
{
	if ((s->n + 1) * 2 > s->cap)
		iset_resize(s, s->cap * 2, 0);
	put(s->slot, s->cap, key);
	s->n++;
}

static void iset_destroy(struct iset *s)
{
	MAPPROF_MAP_DESTROY(s, s->n);
	free(s->slot);
}

__attribute__((noinline)) unsigned api_fill(int tables)
{
	unsigned grows = 0;
	for (int t = 0; t < tables; t++) {
		struct iset s;
		iset_init(&s);
		for (int k = 1; k <= 100; k++)
			iset_add(&s, k);
		grows += s.grows;
		iset_destroy(&s);
	}
	return grows;
}

__attribute__((noinline)) unsigned api_reserve(void)
{
	struct iset s;
	iset_init(&s);
	iset_resize(&s, 512, 1);
	for (int k = 1; k <= 200; k++)
		iset_add(&s, k);
	unsigned g = s.grows;
	iset_destroy(&s);
	return g;
}

int main(void)
{
	unsigned g = api_fill(7);
	unsigned r = api_reserve();
	printf("api_fill instances 7 grows %u\n", g);
	printf("api_reserve instances 1 grows %u explicit 1\n", r);
	return 0;
}
