// SPDX-License-Identifier: MIT
// Many unordered_maps filled at once (tests/integration/maps.sh): a scatter step puts records
// of 8 fields in 6000 partition maps, one field per pass over all of them, with other
// allocations in between so that their bucket arrays land at irregular addresses. Every map
// holds 8 elements at the end; more maps alive than the insert hints hold read as holding 1
// (their size at their last grow): "tiny". Usage: maps_scatter [N=6000] [leak] (leak: the maps
// are alive at the exit dump).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

int main(int argc, char **argv)
{
	int n = argc > 1 ? std::atoi(argv[1]) : 6000, k = 8;
	/* "leak": the maps are still alive at the exit dump */
	bool leak = argc > 2 && std::string(argv[2]) == "leak";
	auto *kept = new std::vector<std::unordered_map<int, int>>(n);
	auto &parts = *kept;
	std::vector<std::string> payload; /* the other work's allocations */
	unsigned r = 1;
	for (int e = 0; e < k; e++)
		for (int p = 0; p < n; p++) {
			parts[p][e] = p; /* SCATTER_LINE */
			if (e == 0) {
				r = r * 1103515245u + 12345u;
				payload.emplace_back(16 + (r >> 16) % 200, 'x');
			}
		}
	size_t most = 0, least = (size_t)-1;
	for (auto &m : parts) {
		most = m.size() > most ? m.size() : most;
		least = m.size() < least ? m.size() : least;
	}
	std::printf("maps %d least %zu most %zu\n", n, least, most);
	if (!leak)
		delete kept;
	return 0;
}
