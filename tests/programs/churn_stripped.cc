// SPDX-License-Identifier: MIT
// Two map sites of one map type, for a stripped copy (tests/integration/churn.sh): without
// symbols, both sites' first frame in the program is the same inlined insert of
// std::unordered_map<int, int>, and the churn report merged them into one site with advice
// that fits neither. Prints "fill_small instances 120 grows G" and "fill_large instances 30
// grows G", counted by the program (bucket_count() watched).
#include <cstdio>
#include <unordered_map>
#include <vector>

static unsigned small_grows, large_grows;

extern "C" __attribute__((noinline)) long fill_small(int i)
{
	std::unordered_map<int, int> m;
	for (int k = 0; k < 50; k++) {
		size_t b = m.bucket_count();
		m[k * 3 + i] = k;
		small_grows += m.bucket_count() != b;
	}
	return (long)m.size();
}

extern "C" __attribute__((noinline)) void fill_large(std::unordered_map<int, int> &m)
{
	for (int k = 0; k < 3000; k++) {
		size_t b = m.bucket_count();
		m[k * 5] = k;
		large_grows += m.bucket_count() != b;
	}
}

int main()
{
	long sum = 0;
	for (int i = 0; i < 120; i++)
		sum += fill_small(i);
	std::vector<std::unordered_map<int, int>> v(30);
	for (auto &m : v) {
		fill_large(m);
		sum += (long)m.size();
	}
	std::printf("fill_small instances 120 grows %u\n", small_grows);
	std::printf("fill_large instances 30 grows %u\n", large_grows);
	std::printf("checksum %ld\n", sum);
	return 0;
}
