// SPDX-License-Identifier: MIT
// "At most N at once" over two paths of one line (tests/integration/churn.sh): batches of 10
// maps alive together, made and dropped one batch after another; every other batch reserves
// before its first insert, so a map's first grow comes through reserve() or through
// operator[], two call pcs of the one source line marked SITE. The line never has more than 10
// maps alive; it read 20 (each pc's count summed), which kept reuse from firing. -DFIXED (built
// by the Makefile for every churn program) is the same program. Prints "batches N".
#include <cstdio>
#include <unordered_map>
#include <vector>

typedef std::unordered_map<int, int> map_t;

__attribute__((noinline)) static void batch(bool reserve)
{
	std::vector<map_t> v(10);
	// clang-format off
	for (map_t &m : v) {
		if (reserve) { m.reserve(8); } m[1] = 1; /* SITE */
	}
	// clang-format on
	asm volatile("" : : "r"(&v) : "memory");
}

int main()
{
	/* 150 maps: reuse at 10 alive at once, not at 20. Volatile: a loop unrolled into 15 calls
	 * of batch() would give the line 15 callers, whose counts summed bound nothing. */
	static volatile int vn = 15;
	const int n = vn;
	for (int i = 0; i < n; i++)
		batch(i & 1);
	std::printf("batches %d\n", n);
	return 0;
}
