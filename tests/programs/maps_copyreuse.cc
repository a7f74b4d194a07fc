// SPDX-License-Identifier: MIT
// A map made where a copy of another lived, in the bucket array the copy freed
// (tests/integration/maps.sh). Each round: a copy of a 10-element map is made at one address
// and given an element while another map grew last, so the insert hints learn that the map
// there has no instance (a copy's array is not tracked); the copy dies; a new map is made at
// the same address, grows into the same array (malloc hands the freed one back), and after
// another map grew, is filled to 13 elements. Those inserts must count: a map read as holding
// 1 (its size at its grow) would be "tiny". Prints the rounds whose array was the copy's.
#include <cstdio>
#include <new>
#include <unordered_map>

typedef std::unordered_map<int, int> map_t;

static const void *buckets_of(const map_t *m)
{
	return *(const void *const *)m; /* libstdc++: _M_buckets is the table's first member */
}

static __attribute__((noinline)) void grow_another(int i)
{
	map_t t; /* grown last: the next inserts elsewhere are not this thread's cached map's */
	t[i] = i;
}

static __attribute__((noinline)) int fill(map_t *m)
{
	for (int i = 1; i < 13; i++)
		(*m)[i] = i; /* REUSE_FILL */
	return (int)m->size();
}

int main()
{
	map_t base;
	for (int i = 0; i < 10; i++)
		base[i] = i;
	alignas(map_t) unsigned char slot[sizeof(map_t)];
	int rounds = 50, reused = 0, most = 0;
	for (int r = 0; r < rounds; r++) {
		map_t *c = new (slot) map_t(base);
		const void *arr = buckets_of(c);
		grow_another(r);
		(*c)[100] = r;
		c->~map_t();
		map_t *m = new (slot) map_t();
		(*m)[0] = 0; /* REUSE_GROW */
		reused += buckets_of(m) == arr;
		grow_another(r);
		int n = fill(m);
		most = n > most ? n : most;
		m->~map_t();
	}
	std::printf("rounds %d reused %d most %d\n", rounds, reused, most);
	return 0;
}
