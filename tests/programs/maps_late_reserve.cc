// SPDX-License-Identifier: MIT
// Maps sized once filled (tests/integration/churn.sh): 200 maps of 40 elements each given
// reserve(20000) after their inserts (the LATE line: 20753 buckets for 40 elements, oversized);
// 100 given rehash(5000) after 40 inserts (REHASH: oversized too); 20 given reserve(20000)
// after 40 inserts, then filled to 20000 (BULK: the reserve was for what came, not oversized);
// 20 given reserve(20000) after 40 inserts, then a reserve() too large to allocate (FAILED: the
// failed one takes back only itself, the maps are oversized as LATE's); 50 given reserve(20000)
// after 11 inserts, one grow (SMALL: oversized, and no presize: without the late reserve they
// grow once). Each counts its grows as bucket_count() shows them.
#include <cstdio>
#include <new>
#include <unordered_map>

/* Inserts keys [from, to) into m where the macro is used (the map's site), counting grows. */
#define FILL(m, from, to, g)                                                                       \
	for (int i_ = (from); i_ < (to); i_++) {                                                   \
		size_t b_ = (m).bucket_count();                                                    \
		(m)[i_] = i_;                                                                      \
		(g) += (m).bucket_count() > b_;                                                    \
	}

/* Sizes m as `call` does (reserve or rehash), counting the grow. */
#define SIZE(m, call, g)                                                                           \
	do {                                                                                       \
		size_t b_ = (m).bucket_count();                                                    \
		(m).call;                                                                          \
		(g) += (m).bucket_count() > b_;                                                    \
	} while (0)

__attribute__((noinline)) static unsigned late(void)
{
	unsigned g = 0;
	for (int r = 0; r < 200; r++) {
		std::unordered_map<int, int> m;
		FILL(m, 0, 40, g); /* LATE */
		SIZE(m, reserve(20000), g);
	}
	return g;
}

__attribute__((noinline)) static unsigned rehashed(void)
{
	unsigned g = 0;
	for (int r = 0; r < 100; r++) {
		std::unordered_map<int, int> m;
		FILL(m, 0, 40, g); /* REHASH */
		SIZE(m, rehash(5000), g);
	}
	return g;
}

__attribute__((noinline)) static unsigned bulk(void)
{
	unsigned g = 0;
	for (int r = 0; r < 20; r++) {
		std::unordered_map<int, int> m;
		FILL(m, 0, 40, g); /* BULK */
		SIZE(m, reserve(20000), g);
		FILL(m, 40, 20000, g);
	}
	return g;
}

__attribute__((noinline)) static unsigned failed(void)
{
	unsigned g = 0;
	for (int r = 0; r < 20; r++) {
		std::unordered_map<int, int> m;
		FILL(m, 0, 40, g); /* FAILED */
		SIZE(m, reserve(20000), g);
		try {
			m.reserve((size_t)1 << 40); /* 8 TiB of buckets */
		} catch (const std::bad_alloc &) {
		}
	}
	return g;
}

__attribute__((noinline)) static unsigned small(void)
{
	unsigned g = 0;
	for (int r = 0; r < 50; r++) {
		std::unordered_map<int, int> m;
		FILL(m, 0, 11, g); /* SMALL */
		SIZE(m, reserve(20000), g);
	}
	return g;
}

int main()
{
	unsigned a = late(), b = rehashed(), c = bulk(), d = failed(), e = small();
	std::printf("late %u rehash %u bulk %u failed %u small %u\n", a, b, c, d, e);
	return 0;
}
