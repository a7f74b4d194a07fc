// SPDX-License-Identifier: MIT
// Ten fork children at once, each holding twenty maps until it has built them all: two hundred
// maps alive together, across processes. The churn report must not call them made one after
// another (`reuse`). Prints "forked_maps instances N".
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

extern "C" __attribute__((noinline)) void forked_maps(std::vector<std::unordered_map<int, int>> &v)
{
	for (auto &m : v)
		for (int k = 0; k < 40; k++)
			m.emplace(k, k);
}

int main()
{
	const int kids = 10, maps = 20;
	for (int i = 0; i < kids; i++) {
		pid_t p = fork();
		if (p == 0) {
			std::vector<std::unordered_map<int, int>> v(maps);
			forked_maps(v);
			_exit(0);
		}
		if (p < 0)
			return 1;
	}
	while (wait(nullptr) > 0) {
	}
	std::printf("forked_maps instances %d\n", kids * maps);
	return 0;
}
