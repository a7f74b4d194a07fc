// SPDX-License-Identifier: MIT
// std::unordered_map / unordered_set growth in an unmodified C++ program, counted by the program
// itself (bucket_count() watched after every insert). Each site is an extern "C" noinline
// function so that tests find it by name in the grow stacks. Prints one line per site:
//   <site> instances <maps made> grows <insert-driven grows> explicit <reserve grows>
#include <cstdio>
#include <pthread.h>
#include <unordered_map>
#include <unordered_set>

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

int main()
{
	unsigned loop = um_loop(30);
	unsigned set = us_loop(10);
	unsigned reserve_inserts = 0;
	unsigned reserve_explicit = um_reserve(&reserve_inserts);
	unsigned shared = um_shared();
	std::printf("um_loop instances 30 grows %u explicit 0\n", loop);
	std::printf("us_loop instances 10 grows %u explicit 0\n", set);
	std::printf("um_reserve instances 1 grows %u explicit %u\n", reserve_inserts,
		    reserve_explicit);
	std::printf("shared_part instances 1 grows %u explicit 0 threads0 %u threads1 %u\n", shared,
		    shared_grows[0] > 0, shared_grows[1] > 0);
	return 0;
}
