// SPDX-License-Identifier: MIT
// std::unordered_map / unordered_set growth in an unmodified C++ program, counted by the program
// itself (bucket_count() watched after every insert). Each site is an extern "C" noinline
// function so that tests find it by name in the grow stacks. Prints one line per site:
//   <site> instances <maps made> grows <insert-driven grows> explicit <reserve grows>
#include <cstdio>
#include <memory_resource>
#include <pthread.h>
#include <stdexcept>
#include <sys/mman.h>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

template <class M, class F> static unsigned counted(M &m, F insert)
{
	size_t b = m.bucket_count();
	insert();
	return m.bucket_count() != b;
}

// A map on the stack in a loop: every iteration is a new instance at the same address.
extern "C" __attribute__((noinline)) unsigned um_loop(int iters)
{
	unsigned grows = 0;
	for (int i = 0; i < iters; i++) {
		std::unordered_map<int, int> m;
		for (int k = 0; k < 10 + i * 7; k++)
			grows += counted(m, [&] { m.emplace(k, k); });
	}
	return grows;
}

extern "C" __attribute__((noinline)) unsigned us_loop(int iters)
{
	unsigned grows = 0;
	for (int i = 0; i < iters; i++) {
		std::unordered_set<long> s;
		for (long k = 0; k < 100; k++)
			grows += counted(s, [&] { s.insert(k * 31); });
	}
	return grows;
}

// reserve() first: one explicit grow here, then no insert-driven grow until past it.
extern "C" __attribute__((noinline)) unsigned um_reserve(unsigned *inserts_grows)
{
	std::unordered_map<int, int> m;
	size_t b = m.bucket_count();
	m.reserve(1000);
	unsigned explicit_grows = m.bucket_count() != b;
	for (int k = 0; k < 2000; k++)
		*inserts_grows += counted(m, [&] { m.emplace(k, k); });
	return explicit_grows;
}

// One map grown by two threads in turn (the second starts after the first finished).
static std::unordered_map<long, long> *shared_map;
static unsigned shared_grows[2];

static void *shared_part(void *arg)
{
	long part = (long)arg;
	for (long k = part * 300; k < (part + 1) * 300 * (part + 1); k++)
		shared_grows[part] += counted(*shared_map, [&] { shared_map->emplace(k, k); });
	return nullptr;
}

extern "C" __attribute__((noinline)) unsigned um_shared(void)
{
	shared_map = new std::unordered_map<long, long>;
	for (long part = 0; part < 2; part++) {
		pthread_t th;
		pthread_create(&th, nullptr, shared_part, (void *)part);
		pthread_join(th, nullptr);
	}
	delete shared_map;
	return shared_grows[0] + shared_grows[1];
}

// Elements added after a map's last grow are counted only by the thread that added them
// (its cache in the shim): the final size must come out right when another thread destroys the
// map after the filler exited, when the filler is still running at exit, and when the map
// outlives the program. 100 elements: the last grow is at 60.
#define FILL 100
static std::unordered_map<long, long> *handed, *kept_other, *kept_main;
static unsigned handoff_grows, other_grows, main_grows;
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static bool filled;

static unsigned fill(std::unordered_map<long, long> *m)
{
	unsigned grows = 0;
	for (long k = 0; k < FILL; k++)
		grows += counted(*m, [&] { m->emplace(k, k); });
	return grows;
}

extern "C" __attribute__((noinline)) void *um_handoff(void *)
{
	handed = new std::unordered_map<long, long>;
	handoff_grows = fill(handed);
	return nullptr;
}

// Fills its map, then waits forever: still running when main returns.
extern "C" __attribute__((noinline)) void *um_live_other(void *)
{
	kept_other = new std::unordered_map<long, long>;
	other_grows = fill(kept_other);
	pthread_mutex_lock(&hold_lock);
	filled = true;
	pthread_cond_broadcast(&hold_cond);
	for (;;)
		pthread_cond_wait(&hold_cond, &hold_lock);
	return nullptr;
}

extern "C" __attribute__((noinline)) void um_live_main(void)
{
	kept_main = new std::unordered_map<long, long>;
	main_grows = fill(kept_main);
}

// A thread that never calls malloc (its map's memory comes from a buffer) and runs on a stack
// of the program's own, unmapped after the join: the shim must keep no pointer into it.
alignas(64) static char pmr_buf[1 << 16];
static std::pmr::monotonic_buffer_resource *pmr_res;
static std::pmr::unordered_map<long, long> *pmr_map;
static unsigned pmr_grows;

extern "C" __attribute__((noinline)) void *um_pmr(void *)
{
	pmr_map =
	    new (pmr_res->allocate(sizeof(*pmr_map), alignof(std::pmr::unordered_map<long, long>)))
		std::pmr::unordered_map<long, long>(pmr_res);
	for (long k = 0; k < FILL; k++)
		pmr_grows += counted(*pmr_map, [&] { pmr_map->emplace(k, k); });
	return nullptr;
}

static void pmr_thread(void)
{
	static std::pmr::monotonic_buffer_resource res(pmr_buf, sizeof(pmr_buf),
						       std::pmr::null_memory_resource());
	pmr_res = &res;
	size_t sz = 1 << 20;
	void *stack = mmap(nullptr, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		return;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstack(&a, stack, sz);
	pthread_t th;
	if (pthread_create(&th, &a, um_pmr, nullptr) == 0)
		pthread_join(th, nullptr);
	pthread_attr_destroy(&a);
	munmap(stack, sz);
}

// merge() tells libstdc++ the source's size, duplicates included: a's final size is 60, not 90.
extern "C" __attribute__((noinline)) unsigned um_merge_src(std::unordered_map<int, int> &b)
{
	unsigned grows = 0;
	for (int k = 0; k < 60; k++)
		grows += counted(b, [&] { b.emplace(k, k); });
	return grows;
}

extern "C" __attribute__((noinline)) unsigned um_merge(unsigned *src_grows, size_t *size)
{
	std::unordered_map<int, int> a, b;
	*src_grows = um_merge_src(b);
	unsigned grows = 0;
	for (int k = 0; k < 30; k++)
		grows += counted(a, [&] { a.emplace(k * 2, k); });
	grows += counted(a, [&] { a.merge(b); }); /* 30 of b's keys are new to a */
	*size = a.size();
	return grows;
}

// A multimap merged into: libstdc++'s merge reserves room for both itself, an explicit grow
// after the insert-driven ones (a "late" one: the site does not size its maps up front).
extern "C" __attribute__((noinline)) unsigned um_mmerge_src(std::unordered_multimap<int, int> &b)
{
	unsigned grows = 0;
	for (int k = 0; k < 400; k++)
		grows += counted(b, [&] { b.emplace(k % 7, k); });
	return grows;
}

extern "C" __attribute__((noinline)) unsigned um_mmerge(unsigned *src_grows,
							unsigned *explicit_grows)
{
	std::unordered_multimap<int, int> a, b;
	*src_grows = um_mmerge_src(b);
	unsigned grows = 0;
	for (int k = 0; k < 100; k++)
		grows += counted(a, [&] { a.emplace(k % 10, k); });
	*explicit_grows = counted(a, [&] { a.merge(b); });
	return grows;
}

// Assigning an initializer list larger than the buckets hold: libstdc++ rehashes first (an
// explicit grow, late too).
extern "C" __attribute__((noinline)) unsigned um_ilist(unsigned *explicit_grows, size_t *size)
{
	std::unordered_map<int, int> m;
	unsigned grows = 0;
	for (int k = 0; k < 20; k++)
		grows += counted(m, [&] { m.emplace(k, k); });
	*explicit_grows = counted(m, [&] {
		m = {{0, 0},  {1, 1},  {2, 2},	{3, 3},	 {4, 4},  {5, 5},  {6, 6},  {7, 7},
		     {8, 8},  {9, 9},  {10, 0}, {11, 1}, {12, 2}, {13, 3}, {14, 4}, {15, 5},
		     {16, 6}, {17, 7}, {18, 8}, {19, 9}, {20, 0}, {21, 1}, {22, 2}, {23, 3},
		     {24, 4}, {25, 5}, {26, 6}, {27, 7}, {28, 8}, {29, 9}, {30, 0}, {31, 1},
		     {32, 2}, {33, 3}, {34, 4}, {35, 5}, {36, 6}, {37, 7}, {38, 8}, {39, 9}};
	});
	for (int k = 40; k < 100; k++)
		grows += counted(m, [&] { m.emplace(k, k); });
	*size = m.size();
	return grows;
}

// Twenty maps filled in turn, an element into each at a time, to 12 elements: each grows once,
// at its first element; its final size is seen on inserts into a map that is not the one its
// thread grew last.
extern "C" __attribute__((noinline)) unsigned um_turns(void)
{
	std::vector<std::unordered_map<int, int>> v(20);
	unsigned grows = 0;
	for (int k = 0; k < 12; k++)
		for (auto &m : v)
			grows += counted(m, [&] { m.emplace(k, k); });
	return grows;
}

// A reserve() that throws (more buckets than memory can hold) grows nothing.
extern "C" __attribute__((noinline)) unsigned um_reserve_throw(size_t *size)
{
	std::unordered_map<int, int> m;
	unsigned grows = 0;
	for (int k = 0; k < 20; k++)
		grows += counted(m, [&] { m.emplace(k, k); });
	try {
		m.reserve(size_t(1) << 58);
	} catch (const std::exception &) {
	}
	for (int k = 20; k < 300; k++)
		grows += counted(m, [&] { m.emplace(k, k); });
	*size = m.size();
	return grows;
}

// Maps built on the stack in a loop and moved into a vector that keeps them (each move leaves
// the stack slot to the next map), then grown further where they now live: 50 instances, all
// alive at exit. Then two maps swapped before they grow on: 2 instances.
static std::vector<std::unordered_map<int, int>> *kept_moved;

extern "C" __attribute__((noinline)) unsigned um_move(void)
{
	kept_moved = new std::vector<std::unordered_map<int, int>>;
	kept_moved->reserve(50);
	unsigned grows = 0;
	for (int i = 0; i < 50; i++) {
		std::unordered_map<int, int> m;
		for (int k = 0; k < 20; k++)
			grows += counted(m, [&] { m.emplace(k, k); });
		kept_moved->push_back(std::move(m));
	}
	for (auto &m : *kept_moved)
		for (int k = 20; k < 100; k++)
			grows += counted(m, [&] { m.emplace(k, k); });
	return grows;
}

extern "C" __attribute__((noinline)) unsigned um_swap(void)
{
	std::unordered_map<int, int> ms[2]; /* made by one line (not unrolled): one site */
	const int first[2] = {10, 40};
	static volatile int two = 2;
	unsigned grows = 0;
	for (int j = 0; j < two; j++)
		for (int k = 0; k < first[j]; k++)
			grows += counted(ms[j], [&] { ms[j].emplace(k, k); });
	ms[0].swap(ms[1]);
	for (int j = 0; j < two; j++)
		for (int k = 0; k < 100; k++)
			grows += counted(ms[j], [&] { ms[j].emplace(k, k); });
	return grows;
}

// A map swapped back to where another map grew since, then filled without growing: those
// elements count (its size read 300, from before the swaps). Made by one line: one site.
extern "C" __attribute__((noinline)) unsigned um_swapback(void)
{
	std::unordered_map<int, int> ms[2];
	const int from[3] = {0, 0, 300}, to[3] = {300, 200, 450};
	static volatile int three = 3;
	unsigned grows = 0;
	for (int j = 0; j < three; j++) { /* ms[0]: X to 300, Y to 200, X to 450 (541 buckets) */
		for (int k = from[j]; k < to[j]; k++)
			grows += counted(ms[0], [&] { ms[0].emplace(k, k); });
		ms[0].swap(ms[1]);
	}
	return grows;
}

static void threads_and_sizes(void)
{
	pthread_t th;
	pthread_create(&th, nullptr, um_handoff, nullptr);
	pthread_join(th, nullptr);
	delete handed; /* by main, after the filler exited */
	pthread_create(&th, nullptr, um_live_other, nullptr);
	pthread_mutex_lock(&hold_lock);
	while (!filled)
		pthread_cond_wait(&hold_cond, &hold_lock);
	pthread_mutex_unlock(&hold_lock);
	um_live_main();
	pmr_thread();
}

int main()
{
	unsigned loop = um_loop(30);
	unsigned set = us_loop(10);
	unsigned reserve_inserts = 0;
	unsigned reserve_explicit = um_reserve(&reserve_inserts);
	unsigned shared = um_shared();
	threads_and_sizes();
	unsigned merge_src_grows;
	size_t merge_size, throw_size;
	unsigned merge_grows = um_merge(&merge_src_grows, &merge_size);
	unsigned throw_grows = um_reserve_throw(&throw_size);
	unsigned mmerge_src_grows, mmerge_explicit, ilist_explicit;
	unsigned mmerge_grows = um_mmerge(&mmerge_src_grows, &mmerge_explicit);
	size_t ilist_size;
	unsigned turns_grows = um_turns();
	unsigned ilist_grows = um_ilist(&ilist_explicit, &ilist_size);
	unsigned move_grows = um_move();
	unsigned swap_grows = um_swap();
	unsigned swapback_grows = um_swapback();
	std::printf("um_loop instances 30 grows %u explicit 0\n", loop);
	std::printf("us_loop instances 10 grows %u explicit 0\n", set);
	std::printf("um_reserve instances 1 grows %u explicit %u\n", reserve_inserts,
		    reserve_explicit);
	std::printf("shared_part instances 1 grows %u explicit 0 threads0 %u threads1 %u\n", shared,
		    shared_grows[0] > 0, shared_grows[1] > 0);
	std::printf("um_handoff instances 1 grows %u explicit 0 size %zu\n", handoff_grows,
		    (size_t)FILL);
	std::printf("um_live_other instances 1 grows %u explicit 0 size %zu live 1\n", other_grows,
		    kept_other->size());
	std::printf("um_live_main instances 1 grows %u explicit 0 size %zu live 1\n", main_grows,
		    kept_main->size());
	std::printf("um_merge_src instances 1 grows %u explicit 0 size 60\n", merge_src_grows);
	std::printf("um_merge instances 1 grows %u explicit 0 size %zu\n", merge_grows, merge_size);
	std::printf("um_reserve_throw instances 1 grows %u explicit 0 size %zu\n", throw_grows,
		    throw_size);
	std::printf("um_mmerge_src instances 1 grows %u explicit 0 size 400\n", mmerge_src_grows);
	std::printf("um_mmerge instances 1 grows %u explicit %u late 1 size 500\n", mmerge_grows,
		    mmerge_explicit);
	std::printf("um_ilist instances 1 grows %u explicit %u late 1 size %zu\n", ilist_grows,
		    ilist_explicit, ilist_size);
	std::printf("um_turns instances 20 grows %u explicit 0 allsize 12\n", turns_grows);
	std::printf("um_move instances 50 grows %u explicit 0 live 50\n", move_grows);
	std::printf("um_swap instances 2 grows %u explicit 0\n", swap_grows);
	std::printf("um_swapback instances 2 grows %u explicit 0 size 450\n", swapback_grows);
	// Its buckets never reach malloc: grows are seen, their time (until the old array's
	// free) is not.
	std::printf("um_pmr instances 1 grows %u explicit 0 size %zu live 1 notime 1\n", pmr_grows,
		    pmr_map ? pmr_map->size() : 0);
	std::fflush(stdout);
	return 0;
}
