/* SPDX-License-Identifier: MIT */
/* Allocations on stacks that are not the thread's own: two ucontext coroutines with stacks from
 * malloc, switching back and forth with main between allocations, all through the same leaf.
 * The shim's stack cache must not use these stacks (stackbounds.c) and every allocation must
 * still be attributed to its own caller. Prints its own counts per caller.
 * Usage: shim_coro [N=200] */
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#define NI     __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory")

static ucontext_t main_ctx, co_ctx[2];
static long n_rounds, counts[3];

NI void *leaf(size_t n)
{
	void *p = malloc(n);
	KEEP();
	return p;
}
NI void co_a(void)
{
	free(leaf(24));
	KEEP();
}
NI void co_b(void)
{
	free(leaf(24));
	KEEP();
}
NI void from_main(void)
{
	free(leaf(24));
	KEEP();
}

static void body(int which)
{
	for (long i = 0; i < n_rounds; i++) {
		if (which == 0)
			co_a();
		else
			co_b();
		counts[which]++;
		swapcontext(&co_ctx[which], &main_ctx);
	}
}

int main(int argc, char **argv)
{
	n_rounds = argc > 1 ? atol(argv[1]) : 200;
	for (int k = 0; k < 2; k++) {
		getcontext(&co_ctx[k]);
		co_ctx[k].uc_stack.ss_size = 64 << 10;
		co_ctx[k].uc_stack.ss_sp = malloc(co_ctx[k].uc_stack.ss_size);
		co_ctx[k].uc_link = &main_ctx;
		makecontext(&co_ctx[k], (void (*)(void))body, 1, k);
	}
	for (long i = 0; i < n_rounds; i++) {
		swapcontext(&main_ctx, &co_ctx[0]);
		from_main();
		counts[2]++;
		swapcontext(&main_ctx, &co_ctx[1]);
	}
	printf("co_a %ld\nco_b %ld\nfrom_main %ld\n", counts[0], counts[1], counts[2]);
	return 0;
}
