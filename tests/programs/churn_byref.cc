// SPDX-License-Identifier: MIT
// A map filled by a function that takes it by reference, and by a member of a class templated
// on the map type (tests/integration/churn.sh): the call sites --maps names are those user
// functions, although their demangled names mention std::unordered_map. Prints "byref done".
#include <cstdio>
#include <unordered_map>

using map_t = std::unordered_map<int, int>;

__attribute__((noinline)) void fill(map_t &m, int n)
{
	for (int i = 0; i < n; i++)
		m[i] = i; // FILL_LINE
}

template <class M> struct filler {
	__attribute__((noinline)) void run(M &m, int n)
	{
		for (int i = 0; i < n; i++)
			m[i + 1000] = i; // RUN_LINE
	}
};

int main()
{
	for (int k = 0; k < 50; k++) {
		map_t a, b;
		fill(a, 100);
		filler<map_t>().run(b, 100);
	}
	printf("byref done\n");
	return 0;
}
