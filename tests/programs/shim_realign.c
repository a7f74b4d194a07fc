/* SPDX-License-Identifier: MIT */
/* Realigned frames, for the shim's stack cache: mid keeps a 64-byte aligned local, so GCC
 * realigns its frame (its CFA is found through its frame pointer, not rsp), and how much
 * padding that takes depends on where the caller's stack pointer was. Built -O2 without frame
 * pointers (Makefile): rbp is a frame pointer only in the realigned frames. via_a and via_b reach
 * mid with their stacks 16 bytes apart modulo 64, alternating in runs of different lengths; via_c
 * and via_d do the same with mid_drap. The program prints its own allocation count per
 * caller. Usage: shim_realign [N=300] */
#include <stdio.h>
#include <stdlib.h>

#define NI     __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory")

NI void esc(void *b)
{
	__asm__ volatile("" ::"r"(b) : "memory");
}
NI void *leaf(size_t n)
{
	void *p = malloc(n);
	KEEP();
	return p;
}
NI void *mid(size_t n)
{
	char buf[64] __attribute__((aligned(64)));
	esc(buf);
	void *p = leaf(n);
	KEEP();
	return p;
}
/* Realigned with arguments on the stack, which it reads through its frame pointer. */
NI void *mid_drap(size_t n, size_t a1, size_t a2, size_t a3, size_t a4, size_t a5, size_t s6,
		  size_t s7)
{
	char buf[64] __attribute__((aligned(64)));
	esc(buf);
	void *p = leaf(n + (a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ s6 ^ s7));
	KEEP();
	return p;
}
NI void *via_a(size_t n)
{
	char pad[8];
	esc(pad);
	void *p = mid(n);
	KEEP();
	return p;
}
NI void *via_b(size_t n)
{
	char pad[24];
	esc(pad);
	void *p = mid(n);
	KEEP();
	return p;
}
NI void *via_c(size_t n)
{
	char pad[8];
	esc(pad);
	void *p = mid_drap(n, 1, 2, 3, 4, 5, 6, 7);
	KEEP();
	return p;
}
NI void *via_d(size_t n)
{
	char pad[24];
	esc(pad);
	void *p = mid_drap(n, 1, 2, 3, 4, 5, 6, 7);
	KEEP();
	return p;
}

static void *ps[100000];

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300, k = 0, a = 0, b = 0, c = 0, d = 0;
	if (n < 1 || n > 1000)
		n = 300;
	for (int run = 1; k + 2 * run + 16 < 100000 && run <= n; run++) {
		for (int i = 0; i < run; i++, a++)
			ps[k++] = via_a(16 + (size_t)run);
		for (int i = 0; i < run % 7 + 1; i++, b++)
			ps[k++] = via_b(16 + (size_t)run);
		for (int i = 0; i < run; i++, c++)
			ps[k++] = via_c(16 + (size_t)run);
		for (int i = 0; i < run % 5 + 1; i++, d++)
			ps[k++] = via_d(16 + (size_t)run);
	}
	for (int i = 0; i < k; i++)
		free(ps[i]);
	printf("via_a %d\nvia_b %d\nvia_c %d\nvia_d %d\n", a, b, c, d);
	return 0;
}
