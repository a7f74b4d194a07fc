/* SPDX-License-Identifier: MIT */
/* A program under an address-space limit (tests/integration/shim_config.sh).
 *
 * shim_aslimit MIB: the limit is a few MiB above its size; it keeps a million 16-byte blocks in
 * exact mode, so the profiler's tables or the program's heap run out of room first (the
 * layout decides which), and samples are dropped. Prints how many blocks it got.
 *
 * shim_aslimit both: both ways of running short, in a fixed order. The heap keeps a free
 * 64 MiB, then the program's own mappings fill the address space under the limit: its small
 * blocks still come from the heap, but the profiler's new mappings fail. Then the limit drops
 * below what the profiler holds: its next mapping passes its share (a quarter of the limit).
 * Its status is 0 either way. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

static long vm_size(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;
	if (!f || fscanf(f, "%ld", &pages) != 1)
		pages = 0;
	if (f)
		fclose(f);
	return pages * 4096;
}

/* Keeps n blocks of 16 bytes from keep[at]; returns how many it got. */
static long fill(void **keep, long at, long n)
{
	long got = 0;
	for (long i = at; i < at + n; i++)
		got += (keep[i] = malloc(16)) != NULL;
	return got;
}

static int both(void **keep, long n)
{
	/* the heap keeps what is freed, and small blocks never get mappings of their own */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_ARENA_MAX, 1);
	void *volatile big = malloc(30 << 20); /* volatile: the pair is not optimized away */
	free(big);
	struct rlimit r = {(rlim_t)(vm_size() + (4 << 20)), RLIM_INFINITY};
	if (setrlimit(RLIMIT_AS, &r) != 0)
		return 3;
	void *own[64];
	int nown = 0;
	while (nown < 64 && (own[nown] = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) != MAP_FAILED)
		nown++;
	long got = fill(keep, 0, n / 2);
	for (int i = 0; i < nown; i++)
		munmap(own[i], 1 << 20);
	r.rlim_cur = 4 << 20; /* below what the process holds: every new mapping fails */
	if (setrlimit(RLIMIT_AS, &r) != 0)
		return 3;
	got += fill(keep, n / 2, n / 2);
	printf("got %s\n", got > 0 ? "some" : "none");
	r.rlim_cur = RLIM_INFINITY; /* room for the dump */
	setrlimit(RLIMIT_AS, &r);
	return 0;
}

int main(int argc, char **argv)
{
	long n = 1000000, got = 0;
	void **keep = calloc((size_t)n, sizeof(*keep));
	if (!keep)
		return 2;
	if (argc > 1 && !strcmp(argv[1], "both")) {
		int rc = both(keep, n);
		for (long i = 0; i < n; i++)
			free(keep[i]);
		return rc;
	}
	long extra = (argc > 1 ? atol(argv[1]) : 8) << 20;
	struct rlimit r = {(rlim_t)(vm_size() + extra), RLIM_INFINITY};
	if (setrlimit(RLIMIT_AS, &r) != 0)
		return 3;
	got = fill(keep, 0, n);
	printf("got %s\n", got > 0 ? "some" : "none");
	for (long i = 0; i < n; i++)
		free(keep[i]);
	return 0;
}
