/* SPDX-License-Identifier: MIT */
/* uthash tables made at one line (fill) from two callers, ten each, run at MAPPROF_DEPTH=1
 * (tests/integration/maps.sh): the table's allocation is a heap sample whose stack is cut at
 * one frame, and it shares its call site with the table's creation; the creation's deeper stack
 * must not come from the thread's cache of the sample's (19 of 20 tables were sited in
 * mapprof's uthash.h). Prints "tables 20". */
#include <stdio.h>
#include <stdlib.h>
#include <uthash.h>

struct item {
	int key;
	UT_hash_handle hh;
};

static struct item pool[64];

static void fill(int n)
{
	struct item *head = NULL, *it, *tmp;
	for (int i = 0; i < n; i++) {
		pool[i].key = i;
		HASH_ADD_INT(head, key, &pool[i]); /* FILL_LINE */
	}
	HASH_ITER(hh, head, it, tmp)
	HASH_DEL(head, it);
}

__attribute__((noinline)) void site_a(void)
{
	fill(10);
}

__attribute__((noinline)) void site_b(void)
{
	fill(20);
}

int main(void)
{
	for (int i = 0; i < 10; i++) {
		site_a();
		site_b();
	}
	puts("tables 20");
	return 0;
}
