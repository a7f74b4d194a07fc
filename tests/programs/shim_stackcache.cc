// SPDX-License-Identifier: MIT
// Stacks that the shim's stack cache must tell apart: the same allocating leaf (and the same
// map-filling function) reached through two callers whose frames are the same size, so that
// the leaf runs at the same stack address with the same return address into its caller, and
// only a frame further up differs; the same leaf at several recursion depths; and calls
// interleaved in runs of different lengths. Built without frame pointers (Makefile), so only
// the CFI says where frames are. Prints its own counts: allocations per caller and grows per
// caller (watching bucket_count()). With THREADS > 1 every thread does the same work at once
// and the counts printed are one thread's.
// Usage: shim_stackcache [ROUNDS=300] [THREADS=1]
#include <pthread.h>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#define NI     __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory") // no tail calls: each caller stays a frame

NI void *leaf(size_t n)
{
	void *p = malloc(n);
	KEEP();
	return p;
}
NI void *mid(size_t n)
{
	void *p = leaf(n);
	KEEP();
	return p;
}
NI void *via_x(size_t n)
{
	void *p = mid(n);
	KEEP();
	return p;
}
NI void *via_y(size_t n)
{
	void *p = mid(n);
	KEEP();
	return p;
}
NI void *rec(int d, size_t n)
{
	void *p = d ? rec(d - 1, n) : leaf(n);
	KEEP();
	return p;
}

// Fills a map without reserve and returns how many times its bucket count changed.
NI long fill(int n)
{
	std::unordered_map<int, int> m;
	long grows = 0;
	size_t b = m.bucket_count();
	for (int i = 0; i < n; i++) {
		m[i] = i;
		if (m.bucket_count() != b) {
			b = m.bucket_count();
			grows++;
		}
	}
	return grows;
}
NI long map_x(int n)
{
	long g = fill(n);
	KEEP();
	return g;
}
NI long map_y(int n)
{
	long g = fill(n);
	KEEP();
	return g;
}

struct counts {
	long rounds, nx, ny, nrec[4], gx, gy;
};

static void *work(void *arg)
{
	counts *c = static_cast<counts *>(arg);
	for (long r = 0; r < c->rounds; r++) {
		// Runs of 1..3 x-calls, then 1..2 y-calls, same size: only the grandparent differs.
		for (long k = 0; k <= r % 3; k++, c->nx++)
			free(via_x(24));
		for (long k = 0; k <= r % 2; k++, c->ny++)
			free(via_y(24));
		int d = (int)(r % 4);
		free(rec(d, 24));
		c->nrec[d]++;
		c->gx += map_x(20 + (int)(r % 5) * 10);
		c->gy += map_y(20 + (int)(r % 7) * 10);
	}
	return nullptr;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 300;
	int nthreads = argc > 2 ? atoi(argv[2]) : 1;
	if (nthreads < 1 || nthreads > 16)
		nthreads = 1;
	counts c[16] = {};
	pthread_t th[16];
	for (int i = 0; i < nthreads; i++) {
		c[i].rounds = rounds;
		if (nthreads == 1)
			work(&c[i]);
		else
			pthread_create(&th[i], nullptr, work, &c[i]);
	}
	for (int i = 0; nthreads > 1 && i < nthreads; i++)
		pthread_join(th[i], nullptr);
	printf("via_x %ld\nvia_y %ld\n", c[0].nx, c[0].ny);
	for (int d = 0; d < 4; d++)
		printf("rec%d %ld\n", d, c[0].nrec[d]);
	printf("map_x %ld\nmap_y %ld\n", c[0].gx, c[0].gy);
	return 0;
}
