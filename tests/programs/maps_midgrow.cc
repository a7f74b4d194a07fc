// SPDX-License-Identifier: MIT
// A dump taken while a grow is in flight (tests/integration/maps.sh): the map's allocator calls
// MAPPROF_DUMP() as its third bucket array is asked for, after the grow was decided and before
// the array exists. Every array comes from operator new (malloc's), so that dump must not count
// the grow's bytes as "not from malloc" (it did, one array's worth).
#include <cstdio>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include "mapprof.h"

static int arrays, dumped = -2;

template <class T> struct dumping_alloc {
	using value_type = T;
	dumping_alloc() = default;
	template <class U> dumping_alloc(const dumping_alloc<U> &)
	{
	}
	T *allocate(size_t n)
	{
		if (std::is_pointer<T>::value && ++arrays == 3) /* a bucket array */
			dumped = MAPPROF_DUMP(); /* no other allocation before the array's */
		return std::allocator<T>().allocate(n);
	}
	void deallocate(T *p, size_t n)
	{
		std::allocator<T>().deallocate(p, n);
	}
	template <class U> bool operator==(const dumping_alloc<U> &) const
	{
		return true;
	}
	template <class U> bool operator!=(const dumping_alloc<U> &) const
	{
		return false;
	}
};

int main()
{
	std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
			   dumping_alloc<std::pair<const int, int>>>
	    m;
	for (int i = 0; i < 1000; i++)
		m[i] = i;
	std::printf("dump %d size %zu arrays %d\n", dumped, m.size(), arrays);
	return 0;
}
