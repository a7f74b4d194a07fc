// SPDX-License-Identifier: MIT
// reserve() on new maps, and the sizing constructor (tests/integration/maps.sh): most of their
// time is the zeroing of the new bucket array, with its page faults, which the grow time must
// hold (it was read as a few hundredths of it). Prints the time the program measured around
// each line's 20 reserves, in ns.
#include <chrono>
#include <cstdio>
#include <unordered_map>

typedef std::unordered_map<long, long> map_t;
typedef std::chrono::steady_clock clk;

static long since(clk::time_point t0)
{
	return (long)std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t0).count();
}

int main()
{
	long reserve_ns = 0, ctor_ns = 0, sum = 0;
	for (int r = 0; r < 20; r++) {
		map_t m;
		clk::time_point t0 = clk::now();
		m.reserve(1 << 20); /* RESERVE_LINE */
		reserve_ns += since(t0);
		for (long i = 0; i < 10; i++)
			m[i] = i;
		sum += (long)m.size();
	}
	for (int r = 0; r < 20; r++) {
		clk::time_point t0 = clk::now();
		map_t m(1 << 20); /* CTOR_LINE */
		ctor_ns += since(t0);
		for (long i = 0; i < 10; i++)
			m[i] = i;
		sum += (long)m.size();
	}
	std::printf("reserve %ld ctor %ld elements %ld\n", reserve_ns, ctor_ns, sum);
	return 0;
}
