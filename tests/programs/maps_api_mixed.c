/* SPDX-License-Identifier: MIT */
/* One creation site whose maps reserve only sometimes (tests/integration/churn.sh): 40 tables
 * made by make_table, 10 of them sized up front to 16 slots, all then filled to 100 items with
 * doublings reported through the public API. The presize verdict said "after their reserve()"
 * and "the reserve is too small" as if every instance reserved. With an argument, that many
 * tables: 400 makes reuse fire, whose suggestion must not name std::unordered_map's clear(). */
#include <stdlib.h>
#include "mapprof.h"

struct table {
	size_t cap, n;
};

static void resize(struct table *t, size_t cap, int reserve)
{
	void *bytes = malloc(cap * sizeof(int)); /* the new slots, as a real table would */
	size_t from = t->cap;
	t->cap = cap;
	if (reserve)
		MAPPROF_MAP_RESERVE(t, from, cap, t->n, cap * sizeof(int), 100);
	else
		MAPPROF_MAP_GROW(t, from, cap, t->n, cap * sizeof(int), 100);
	free(bytes);
}

__attribute__((noinline)) static void make_table(struct table *t)
{
	t->cap = 8;
	t->n = 0;
	MAPPROF_MAP_CREATE(t);
}

int main(int argc, char **argv)
{
	int tables = argc > 1 ? atoi(argv[1]) : 40;
	for (int k = 0; k < tables; k++) {
		struct table t;
		make_table(&t);
		if (k % 4 == 0)
			resize(&t, 16, 1);
		for (int i = 0; i < 100; i++) {
			if (2 * (t.n + 1) > t.cap)
				resize(&t, 2 * t.cap, 0);
			t.n++;
		}
		MAPPROF_MAP_DESTROY(&t, t.n);
	}
	return 0;
}
