// SPDX-License-Identifier: MIT
/* Known per-site truth for the analyzer's exact-mode test (tests/integration/report_e2e.sh):
 * each site is a function of its own that calls the allocator directly, a known number of
 * times with a known size; what is freed and what stays live at exit is fixed. One site is an
 * always-inlined function, so its frame must appear as an inline line of its caller.
 *   site_freed    100 x malloc(64), all freed         alloc 100/6400   inuse 0/0
 *   site_live      50 x malloc(1000), none freed      alloc 50/50000   inuse 50/50000
 *   site_calloc    10 x calloc(10, 100)               alloc 10/10000   inuse 10/10000
 *   site_half      40 x malloc(24), every other freed alloc 40/960     inuse 20/480
 *   make_node      20 x malloc(48) inlined into caller_inline, kept    alloc 20/960 inuse 20/960
 */
#include <stdlib.h>

void *volatile sink; /* defeats malloc/free pair elision */
static void *keep[1024];
static int nkeep;

__attribute__((noinline)) static void site_freed(void)
{
	for (int i = 0; i < 100; i++) {
		sink = malloc(64);
		free(sink);
	}
}

__attribute__((noinline)) static void site_live(void)
{
	for (int i = 0; i < 50; i++)
		keep[nkeep++] = malloc(1000);
}

__attribute__((noinline)) static void site_calloc(void)
{
	for (int i = 0; i < 10; i++)
		keep[nkeep++] = calloc(10, 100);
}

__attribute__((noinline)) static void site_half(void)
{
	for (int i = 0; i < 40; i++) {
		sink = malloc(24);
		if (i % 2)
			free(sink);
		else
			keep[nkeep++] = sink;
	}
}

static inline __attribute__((always_inline)) void *make_node(void)
{
	return malloc(48); /* MAKE_NODE_LINE */
}

__attribute__((noinline)) static void caller_inline(void)
{
	for (int i = 0; i < 20; i++)
		keep[nkeep++] = make_node(); /* CALLER_INLINE_LINE */
}

/* Called from two lines of main: two stacks whose folded text is the same. */
__attribute__((noinline)) static void site_twice(void)
{
	for (int i = 0; i < 5; i++) {
		sink = malloc(40);
		free(sink);
	}
}

int main(void)
{
	site_twice();
	site_freed();
	site_twice();
	site_live();
	site_calloc();
	site_half();
	caller_inline();
	sink = keep[0];
	return 0;
}
