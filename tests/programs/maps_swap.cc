// SPDX-License-Identifier: MIT
// Elements inserted at an address where a swap put another map (tests/integration/maps.sh): a
// 3-element map grown in small_site is swapped with a 1000-element one, and 50 more elements
// go in at the small map's old address, into the big map, without a grow. The small maps'
// final size must stay 3 (they were read as 1050: the thread's element cache went by address
// only). Prints "maps N small 3 big 1050".
#include <cstdio>
#include <unordered_map>

typedef std::unordered_map<int, int> M;

__attribute__((noinline)) static void big_site(M &b)
{
	for (int i = 0; i < 1000; i++)
		b[i] = i;
}

__attribute__((noinline)) static void small_site(M &a)
{
	for (int i = 0; i < 3; i++)
		a[i] = i;
}

__attribute__((noinline)) static void more(M &a)
{
	for (int i = 1000; i < 1050; i++)
		a[i] = i;
}

int main()
{
	const int n = 50;
	size_t small = 0, big = 0;
	for (int k = 0; k < n; k++) {
		M *b = new M, *a = new M;
		big_site(*b);
		small_site(*a);
		a->swap(*b);
		more(*a); // the big map, now at the small one's address
		small = b->size();
		big = a->size();
		delete b;
		delete a;
	}
	std::printf("maps %d small %zu big %zu\n", n, small, big);
	return 0;
}
