// SPDX-License-Identifier: MIT
// Elements inserted at an address where a swap put another map (tests/integration/maps.sh): a
// 3-element map grown in small_site is swapped with a 1000-element one, and 50 more elements
// go in at the small map's old address, into the big map, without a grow. The small maps'
// final size must stay 3 (they were read as 1050: the thread's element cache went by address
// only). Prints "maps N small 3 big 1050". Then one map filled to 100 by main in shared_fill,
// grown to 128 by another thread, and filled to 251 by main again (not a swap: still the map
// main grew, with a new array); prints "shared 251". Last, a map filled to 100 by main in
// stale_fill is reserved bigger by another thread, which then makes a map of the old bucket
// count (its array takes the old one's address); main fills that one with 117: not the first
// map's elements. Prints "stale 100 reused R". Then "moved": main grows a map to 100 in
// moved_fill; another thread swaps it into a second map object, grows the first object (the
// instance is detached), rehashes the second bigger (the instance moves there, its old array
// freed) and makes a map of the old bucket count (its array takes the old address); main fills
// that one to near its bucket count: not the first map's elements. Prints "moved 100 reused R".
#include <cstdio>
#include <pthread.h>
#include <unordered_map>

typedef std::unordered_map<int, int> M;

__attribute__((noinline)) static void big_site(M &b)
{
	for (int i = 0; i < 1000; i++)
		b[i] = i;
}

__attribute__((noinline)) static void small_site(M &a)
{
	for (int i = 0; i < 3; i++)
		a[i] = i;
}

__attribute__((noinline)) static void more(M &a)
{
	for (int i = 1000; i < 1050; i++)
		a[i] = i;
}

__attribute__((noinline)) static void shared_fill(M &m, int from, int to)
{
	for (int i = from; i < to; i++)
		m[i] = i;
}

__attribute__((noinline)) static void *other_thread(void *arg)
{
	M &m = *static_cast<M *>(arg);
	for (int i = 100; i < 128; i++) // grows it: 97 buckets hold 107
		m[i] = i;
	return nullptr;
}

static M *stale_a, *stale_b;
static size_t stale_nb;
static int stale_reused;

__attribute__((noinline)) static void stale_fill(M &m, int n)
{
	for (int i = 0; i < n; i++)
		m[i] = i;
}

static void *stale_thread(void *)
{
	const void *old = *reinterpret_cast<void **>(stale_a); // _M_buckets, the first member
	stale_a->reserve(5000);
	stale_b = new M(stale_nb);
	stale_reused = *reinterpret_cast<void **>(stale_b) == old;
	return nullptr;
}

static M *mv_p, *mv_q, *mv_n;
static size_t mv_nb;
static int mv_reused;

__attribute__((noinline)) static void moved_fill(M &m, int n)
{
	for (int i = 0; i < n; i++)
		m[i] = i;
}

static void *moved_thread(void *)
{
	const void *old = *reinterpret_cast<void **>(mv_p);
	mv_p->swap(*mv_q); // the grown map is now in mv_q, mv_p is empty
	for (int i = 0; i < 20; i++)
		(*mv_p)[i] = i;	 // grows mv_p: the grown map's instance is detached from it
	mv_q->rehash(4 * mv_nb); // the grown map grows where it is now; its old array is freed
	mv_n = new M(mv_nb);
	mv_reused = *reinterpret_cast<void **>(mv_n) == old;
	return nullptr;
}

int main()
{
	const int n = 50;
	size_t small = 0, big = 0;
	for (int k = 0; k < n; k++) {
		M *b = new M, *a = new M;
		big_site(*b);
		small_site(*a);
		a->swap(*b);
		more(*a); // the big map, now at the small one's address
		small = b->size();
		big = a->size();
		delete b;
		delete a;
	}
	std::printf("maps %d small %zu big %zu\n", n, small, big);
	M *m = new M;
	shared_fill(*m, 0, 100);
	pthread_t th;
	if (pthread_create(&th, nullptr, other_thread, m) != 0 || pthread_join(th, nullptr) != 0)
		return 1;
	shared_fill(*m, 128, 251);
	std::printf("shared %zu\n", m->size());
	delete m;
	stale_a = new M;
	stale_fill(*stale_a, 100);
	stale_nb = stale_a->bucket_count();
	if (pthread_create(&th, nullptr, stale_thread, nullptr) != 0 ||
	    pthread_join(th, nullptr) != 0)
		return 1;
	for (int i = 0; i < (int)stale_nb - 10; i++) // no grow: inserts only
		(*stale_b)[i] = i;
	M *c = new M;
	(*c)[1] = 1; // a grow elsewhere: this thread's count goes to its map
	std::printf("stale %zu reused %d\n", stale_a->size(), stale_reused);
	delete stale_a;
	delete stale_b;
	delete c;
	mv_p = new M;
	mv_q = new M;
	moved_fill(*mv_p, 100);
	mv_nb = mv_p->bucket_count();
	if (pthread_create(&th, nullptr, moved_thread, nullptr) != 0 ||
	    pthread_join(th, nullptr) != 0)
		return 1;
	for (int i = 0; i < (int)mv_nb - 5; i++) // no grow: inserts only
		(*mv_n)[i] = i;
	M *d = new M;
	(*d)[1] = 1; // a grow elsewhere: this thread's count goes to its map
	std::printf("moved %zu reused %d\n", mv_q->size(), mv_reused);
	delete mv_p;
	delete mv_q;
	delete mv_n;
	delete d;
	return 0;
}
