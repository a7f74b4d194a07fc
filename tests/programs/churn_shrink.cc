// SPDX-License-Identifier: MIT
// presize and a map the program shrinks itself (tests/integration/churn.sh): shrunk() reserves
// for the 1010 elements its maps reach, fills 1000, erases 990, shrinks with rehash(0) and fills
// 1000 more, so each map grows again after the shrink; the advice asked for the very
// reserve(1010) the code makes ("the reserve is too small"). small_reserve() reserves 100 and
// fills 1000 with no shrink: its reserve is too small; so is shrink_at_end()'s, whose maps are
// shrunk only once full (clear(), rehash(0)), before they die, and resized()'s, which reserves
// 100 again after its shrink and then fills 1000. Prints the grows each saw.
#include <cstdio>
#include <unordered_map>

static unsigned shrunk_grows, small_grows, end_grows, resized_grows;

static unsigned fill(std::unordered_map<int, int> &m, int from, int n)
{
	unsigned g = 0;
	for (int i = from; i < from + n; i++) {
		size_t b = m.bucket_count();
		m[i] = i;
		g += m.bucket_count() != b;
	}
	return g;
}

extern "C" __attribute__((noinline)) void shrunk(void)
{
	std::unordered_map<int, int> m;
	m.reserve(1010);
	shrunk_grows += fill(m, 0, 1000);
	for (int i = 0; i < 990; i++)
		m.erase(i);
	m.rehash(0); /* SITE_SHRINK */
	shrunk_grows += fill(m, 50000, 1000);
}

extern "C" __attribute__((noinline)) void small_reserve(void)
{
	std::unordered_map<int, int> m;
	m.reserve(100);
	small_grows += fill(m, 0, 1000);
}

extern "C" __attribute__((noinline)) void shrink_at_end(void)
{
	std::unordered_map<int, int> m;
	m.reserve(100);
	end_grows += fill(m, 0, 1000);
	m.clear();
	m.rehash(0);
}

extern "C" __attribute__((noinline)) void resized(void)
{
	std::unordered_map<int, int> m;
	m.reserve(1010);
	resized_grows += fill(m, 0, 1000);
	for (int i = 0; i < 990; i++)
		m.erase(i);
	m.rehash(0);
	m.reserve(100);
	resized_grows += fill(m, 50000, 1000);
}

int main()
{
	for (int r = 0; r < 20; r++) {
		shrunk();
		small_reserve();
		shrink_at_end();
		resized();
	}
	std::printf(
	    "shrunk grows %u small_reserve grows %u shrink_at_end grows %u resized grows %u\n",
	    shrunk_grows, small_grows, end_grows, resized_grows);
	return 0;
}
