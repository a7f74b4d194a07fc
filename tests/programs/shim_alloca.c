/* SPDX-License-Identifier: MIT */
/* Frames whose size varies (alloca), for the shim's stack cache: top's two branches call mid
 * with pads chosen so that leaf runs at the same stack address with the same return address
 * into mid. The slot of mid's return address into top moves between the branches, and the old
 * slot, now inside top's alloca buffer, still holds the old return address: only top's rbp
 * (its frame base) tells the stacks apart. Prints each branch's line in top and its count.
 * Usage: shim_alloca [N=300] */
#include <alloca.h>
#include <stdio.h>
#include <stdlib.h>

#define NI     __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory")

NI void esc(char *b)
{
	__asm__ volatile("" ::"r"(b) : "memory");
}
NI void *leaf(size_t n)
{
	void *p = malloc(n);
	KEEP();
	return p;
}
NI void *mid(size_t pad, size_t n)
{
	char *b = alloca(pad);
	esc(b);
	void *p = leaf(n);
	KEEP();
	return p;
}
static int line[2];
NI void *top(int k, size_t n)
{
	void *p;
	if (k) {
		char *b = alloca(48);
		esc(b);
		p = mid(0, n), line[1] = __LINE__;
		KEEP();
	} else {
		p = mid(64, n), line[0] = __LINE__;
		KEEP();
	}
	return p;
}

static void *ps[100000];

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300;
	long c[2] = {0, 0};
	if (n < 0 || n > 100000)
		n = 300;
	for (volatile int j = 0; j < n; j++) {
		int k = j % 3 == 2;
		ps[j] = top(k, 24);
		c[k]++;
	}
	for (int j = 0; j < n; j++)
		free(ps[j]);
	for (int k = 0; k < 2; k++)
		printf("alloca%d %ld %d\n", k, c[k], line[k]);
	return 0;
}
