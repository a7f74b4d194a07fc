// SPDX-License-Identifier: MIT
// Advice for maps that are copies, sized after a load-factor change, or built from a range
// (tests/integration/churn.sh). assigned(): one map hoisted out of the loop, assigned a
// 1000-element map each time (operator= takes its 1109 buckets: a new array) and filled with 2000
// more: "hoist one map" was the advice for a map hoisted already; copied(): the same with a new
// copy each time. lowered(): reserve(1000), then max_load_factor(0.25), then 1000 inserts: grows
// past the reserve, and the advice was the very reserve(1000) the code makes. ranged(): built
// from a range of 1000 pairs (GCC 12's unique-key range constructor does not size it first):
// "before it is filled" has no place there. Not copies, nor lowered: mixed_lf(), where one map
// in 100 lowers its load factor after its reserve (the rest reserve too little); pmr_moved(),
// std::pmr maps moved to another map before they grow (their arrays are not tracked);
// inherited(), maps a fork child grows that its parent filled. Prints the grows each saw.
#include <cstdio>
#include <memory_resource>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <vector>

typedef std::unordered_map<int, int> map_t;
static unsigned assigned_grows, copied_grows, lowered_grows, ranged_grows;

/* A macro, not a function: each map's site is the first frame outside the map's code, and a
 * shared fill() would make all of them one site. */
#define FILL(m, from, n, grows)                                                                    \
	for (int i_ = (from); i_ < (from) + (n); i_++) {                                           \
		size_t b_ = (m).bucket_count();                                                    \
		(m)[i_] = i_;                                                                      \
		(grows) += (m).bucket_count() != b_;                                               \
	}

static map_t source(void)
{
	map_t s;
	unsigned g = 0;
	FILL(s, 0, 1000, g);
	return s;
}

extern "C" __attribute__((noinline)) void assigned(const map_t &src, int rounds)
{
	map_t d;
	for (int r = 0; r < rounds; r++) {
		d = src;
		FILL(d, 10000, 2000, assigned_grows);
	}
}

extern "C" __attribute__((noinline)) void copied(const map_t &src)
{
	map_t d = src;
	FILL(d, 10000, 2000, copied_grows);
}

extern "C" __attribute__((noinline)) void lowered(void)
{
	map_t m;
	m.reserve(1000);
	m.max_load_factor(0.25f);
	FILL(m, 0, 1000, lowered_grows);
}

extern "C" __attribute__((noinline)) void ranged(const std::vector<std::pair<int, int>> &v)
{
	map_t m(v.begin(), v.end());
	ranged_grows += (unsigned)(m.bucket_count() > 1); /* at least: it grew inside */
	if (m.size() != v.size())
		std::printf("lost elements\n");
}

extern "C" __attribute__((noinline)) void mixed_lf(int r)
{
	map_t m;
	m.reserve(100);
	if (r == 0)
		m.max_load_factor(0.5f);
	unsigned g = 0;
	FILL(m, 0, 1000, g);
}

typedef std::pmr::unordered_map<int, int> pmap_t;

extern "C" __attribute__((noinline)) void pmr_moved(void)
{
	static char buf[1 << 20];
	std::pmr::monotonic_buffer_resource pool(buf, sizeof(buf));
	pmap_t a(&pool);
	unsigned g = 0;
	FILL(a, 0, 100, g);
	pmap_t b(std::move(a));
	FILL(b, 100, 3000, g);
}

static std::vector<map_t> *kept;

extern "C" __attribute__((noinline)) void inherited_fill(void)
{
	kept = new std::vector<map_t>(50);
	unsigned g = 0;
	for (auto &m : *kept)
		FILL(m, 0, 100, g);
}

extern "C" __attribute__((noinline)) void inherited(void)
{
	unsigned g = 0;
	for (auto &m : *kept)
		FILL(m, 100, 3000, g);
}

int main(void)
{
	inherited_fill();
	pid_t child = fork();
	if (child == 0) {
		inherited();
		return 0;
	}
	int status;
	waitpid(child, &status, 0);
	map_t src = source();
	std::vector<std::pair<int, int>> v;
	for (int i = 0; i < 1000; i++)
		v.emplace_back(i, i);
	assigned(src, 200);
	for (int r = 0; r < 200; r++) {
		copied(src);
		lowered();
		ranged(v);
		pmr_moved();
	}
	for (int r = 0; r < 100; r++)
		mixed_lf(r);
	std::printf("assigned %u copied %u lowered %u ranged %u\n", assigned_grows, copied_grows,
		    lowered_grows, ranged_grows);
	return 0;
}
