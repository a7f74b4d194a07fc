// SPDX-License-Identifier: MIT
// presize at the edge of "similar sizes" (tests/integration/churn.sh): 500 maps filled from
// empty, 55% to 100 elements, 37% to 300 and 8% to 2000, so the report's bounds read
// p50 <= 127 and p90 <= 511: 4x apart, which the README counts as similar (the check compared
// 511 with 4 x 127 and gave no presize). reserve(511) spares every grow of 92% of the maps.
// Prints "spread_index instances N grows G", counted by the program (bucket_count() watched).
#include <cstdio>
#include <unordered_map>
#include <vector>

static unsigned grows;

extern "C" __attribute__((noinline)) void spread_index(std::unordered_map<int, int> &m, int n)
{
	for (int k = 0; k < n; k++) {
		size_t b = m.bucket_count();
		m.emplace(k * 7, k); /* SITE */
		grows += m.bucket_count() != b;
	}
}

int main()
{
	const int maps = 500;
	std::vector<std::unordered_map<int, int>> v(maps); // all alive at once: no reuse
	long sum = 0;
	for (int i = 0; i < maps; i++) {
		int n = i % 100 < 55 ? 100 : i % 100 < 92 ? 300 : 2000;
		spread_index(v[i], n);
		sum += (long)v[i].size();
	}
	std::printf("spread_index instances %d grows %u\n", maps, grows);
	std::printf("checksum %ld\n", sum);
	return 0;
}
