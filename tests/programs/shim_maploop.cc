// SPDX-License-Identifier: MIT
// The commonest map pattern of all: a map local to a function, filled in a loop, many times.
// Built -O2 without frame pointers (Makefile): GCC 12 keeps the map's address in rbp, a register
// that is then no frame pointer, and the shim's stack cache must still recognise the stack (its
// test counts the unwinds). Prints the grows of one()'s maps (counted by watching
// bucket_count() on a map of the same size).
// Usage: shim_maploop [MAPS=2000] [ITEMS=20]
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

__attribute__((noinline)) static long one(long items)
{
	std::unordered_map<long, long> m;
	for (long i = 0; i < items; i++)
		m.emplace(i, i);
	return (long)m.bucket_count();
}

// Grows of one map of `items` elements, counted on a map of its own (every map grows alike).
static long grows_per_map(long items)
{
	std::unordered_map<long, long> m;
	size_t b = m.bucket_count();
	long grows = 0;
	for (long i = 0; i < items; i++) {
		m.emplace(i, i);
		if (m.bucket_count() != b) {
			grows++;
			b = m.bucket_count();
		}
	}
	return grows;
}

int main(int argc, char **argv)
{
	long maps = argc > 1 ? atol(argv[1]) : 2000, items = argc > 2 ? atol(argv[2]) : 20, s = 0;
	for (long k = 0; k < maps; k++)
		s += one(items);
	printf("maps %ld buckets %ld grows %ld\n", maps, s, maps * grows_per_map(items));
	return 0;
}
