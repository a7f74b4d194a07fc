/* SPDX-License-Identifier: MIT */
/* Exact-mode truth by construction: each noinline site_* function allocates a known number of
 * objects of known sizes (the table in tests/integration/shim_exact.sh). No stdio, so libc adds
 * as few allocations of its own as possible. Exits 0 after writing "sites ok", 3 if an aligned
 * allocation came back misaligned or an allocation failed. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

void *volatile keep[1024]; /* volatile: the compiler must not drop the calls */
static int nkeep;
static int bad;

static void hold(void *p)
{
	if (!p)
		bad = 1;
	keep[nkeep++] = p;
}

/* 100 x malloc(24): 10 kept, 90 freed. */
NOINLINE void site_malloc24(void)
{
	void *tmp[100];
	for (int i = 0; i < 100; i++)
		tmp[i] = malloc(24);
	for (int i = 0; i < 100; i++) {
		if (i < 10)
			hold(tmp[i]);
		else
			free(tmp[i]);
	}
}

/* 50 x calloc(7, 13) = 91 bytes, all freed; the memory must be zero. */
NOINLINE void site_calloc(void)
{
	for (int i = 0; i < 50; i++) {
		unsigned char *p = calloc(7, 13);
		if (!p)
			bad = 1;
		for (int k = 0; p && k < 91; k++)
			bad |= p[k] != 0;
		free(p);
	}
}

/* A realloc chain 16, 32, ..., 4096 (9 reallocs, the first from NULL): one object per size;
 * only the last is live. The data must survive every move. */
NOINLINE void site_realloc_chain(void)
{
	char *p = NULL;
	for (int k = 0; k < 9; k++) {
		size_t n = (size_t)16 << k;
		p = realloc(p, n);
		if (!p) {
			bad = 1;
			return;
		}
		if (k > 0)
			bad |= p[0] != 'x' || p[n / 2 - 1] != 'y';
		p[0] = 'x';
		p[n - 1] = 'y';
	}
	hold(p);
}

/* reallocarray(NULL, 3, 100) then reallocarray(p, 5, 100): sizes 300 and 500, 500 kept; an
 * overflowing reallocarray fails without counting. */
NOINLINE void site_reallocarray(void)
{
	void *p = reallocarray(NULL, 3, 100);
	p = reallocarray(p, 5, 100);
	hold(p);
	volatile size_t huge = SIZE_MAX / 2;
	if (reallocarray(NULL, huge, 4) != NULL)
		bad = 1;
}

/* realloc(p, 0) frees (glibc); 4 x malloc(40) at this site, all gone. */
NOINLINE void site_realloc_zero(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = malloc(40);
		void *q = realloc(p, 0);
		free(q);
	}
}

static void aligned_ok(void *p, size_t a)
{
	if (!p || ((uintptr_t)p & (a - 1)))
		bad = 1;
	hold(p);
}

/* The aligned family, all kept: posix_memalign(64, 100) x3, aligned_alloc(128, 256) x3,
 * memalign(256, 1000) x3, valloc(5000) x3, pvalloc(5000) x3 (recorded as 8192: pvalloc
 * allocates whole pages). */
NOINLINE void site_aligned(void)
{
	long page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < 3; i++) {
		void *p = NULL;
		if (posix_memalign(&p, 64, 100) != 0)
			bad = 1;
		aligned_ok(p, 64);
		aligned_ok(aligned_alloc(128, 256), 128);
		aligned_ok(memalign(256, 1000), 256);
		aligned_ok(valloc(5000), (size_t)page);
		aligned_ok(pvalloc(5000), (size_t)page);
	}
	void *p = NULL;
	if (posix_memalign(&p, 3, 10) == 0) /* invalid alignment: EINVAL, nothing allocated */
		bad = 1;
}

/* 5 x malloc(0), kept: exact mode records them (size 0). */
NOINLINE void site_malloc0(void)
{
	for (int i = 0; i < 5; i++)
		hold(malloc(0));
}

/* 20 x malloc(1000), the even ones freed: 10 in use. malloc_usable_size must be >= 1000. */
NOINLINE void site_inuse(void)
{
	void *tmp[20];
	for (int i = 0; i < 20; i++) {
		tmp[i] = malloc(1000);
		if (!tmp[i] || malloc_usable_size(tmp[i]) < 1000)
			bad = 1;
	}
	for (int i = 0; i < 20; i++) {
		if (i % 2 == 0)
			free(tmp[i]);
		else
			hold(tmp[i]);
	}
}

/* Called twice from two different callers: two stacks with the same leaf. */
NOINLINE void site_shared(int n)
{
	for (int i = 0; i < n; i++)
		hold(malloc(48));
}
NOINLINE void caller_one(void)
{
	site_shared(3);
	__asm__ volatile("" ::: "memory");
}
NOINLINE void caller_two(void)
{
	site_shared(4);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	site_malloc24();
	site_calloc();
	site_realloc_chain();
	site_reallocarray();
	site_realloc_zero();
	site_aligned();
	site_malloc0();
	site_inuse();
	caller_one();
	caller_two();
	if (bad) {
		write(2, "sites: bad allocation\n", 22);
		return 3;
	}
	write(1, "sites ok\n", 9);
	return 0;
}
