/* SPDX-License-Identifier: MIT */
/* API tables that start at 16 slots, take 7 items there (no grow), and are then resized on
 * purpose to 4096 slots (tests/integration/churn.sh): a reserve after they were filled, far
 * beyond what they hold, though it is their first grow. It read as "sized up front" and drew no
 * verdict (black-box QA). Then 40 tables reserved while empty, filled to 1000: sized up front. */
#include <stdio.h>
#include <stdlib.h>
#include "mapprof.h"

struct table {
	int *slot;
	size_t cap, n;
};

static void put(struct table *t, int k)
{
	size_t i = (unsigned)k % t->cap;
	while (t->slot[i])
		i = (i + 1) % t->cap;
	t->slot[i] = k;
	t->n++;
}

static void resize(struct table *t, size_t cap, int reserve)
{
	int *old = t->slot;
	size_t from = t->cap;
	t->slot = calloc(cap, sizeof(int));
	if (!t->slot)
		exit(1);
	t->cap = cap;
	t->n = 0;
	for (size_t i = 0; i < from; i++)
		if (old[i])
			put(t, old[i]);
	free(old);
	if (reserve)
		MAPPROF_MAP_RESERVE(t, from, cap, t->n, cap * sizeof(int), 0);
	else
		MAPPROF_MAP_GROW(t, from, cap, t->n, cap * sizeof(int), 0);
}

static void add(struct table *t, int k)
{
	if ((t->n + 1) * 2 > t->cap)
		resize(t, t->cap * 2, 0);
	put(t, k);
}

static struct table *slots16(struct table *t)
{
	t->cap = 16;
	t->n = 0;
	t->slot = calloc(t->cap, sizeof(int));
	if (!t->slot)
		exit(1);
	return t;
}

static void drop(struct table *t)
{
	MAPPROF_MAP_DESTROY(t, t->n);
	free(t->slot);
}

static struct table late[40], early[40];

int main(void)
{
	long sum = 0;
	for (int i = 0; i < 40; i++) {
		MAPPROF_MAP_CREATE(slots16(&late[i])); /* LATE */
		for (int k = 1; k <= 7; k++)
			add(&late[i], k);
		resize(&late[i], 4096, 1);
	}
	for (int i = 0; i < 40; i++) {
		struct table *t = slots16(&early[i]);
		MAPPROF_MAP_CREATE(t); /* EARLY */
		resize(t, 2048, 1);
		for (int k = 1; k <= 1000; k++)
			add(t, k);
	}
	for (int i = 0; i < 40; i++) {
		sum += (long)(late[i].n + early[i].n);
		drop(&late[i]);
		drop(&early[i]);
	}
	printf("%ld\n", sum);
	return 0;
}
