// SPDX-License-Identifier: MIT
// Maps whose allocator does heap work of its own before it calls malloc for the bucket array
// (tests/integration/maps.sh): one builds a log line (LOG), one appends to a vector of
// records (RECORD, which reallocates now and then). Their arrays are malloc's, of the exact
// size: grow bytes come from malloc, grows are timed, and every map is seen to die (they
// read as "not from malloc", untimed, one map alive). Counts each line's grows by watching
// bucket_count(): prints "log GROWS record GROWS".
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

static size_t logged;
static std::vector<size_t> *records;

template <class T, bool LOG> struct busy_alloc {
	using value_type = T;
	busy_alloc() = default;
	template <class U> busy_alloc(const busy_alloc<U, LOG> &)
	{
	}
	template <class U> struct rebind {
		using other = busy_alloc<U, LOG>;
	};
	T *allocate(size_t n)
	{
		if (LOG) {
			std::string msg = "allocating " + std::to_string(n) + " objects of " +
					  std::to_string(sizeof(T)) + " bytes, and some more words";
			logged += msg.size();
		} else {
			records->push_back(n);
		}
		void *p = std::malloc(n * sizeof(T));
		if (!p)
			throw std::bad_alloc();
		return (T *)p;
	}
	void deallocate(T *p, size_t)
	{
		std::free(p);
	}
	bool operator==(const busy_alloc &) const
	{
		return true;
	}
	bool operator!=(const busy_alloc &) const
	{
		return false;
	}
};

template <bool LOG>
using map_t = std::unordered_map<long, long, std::hash<long>, std::equal_to<long>,
				 busy_alloc<std::pair<const long, long>, LOG>>;

template <bool LOG> static __attribute__((noinline)) long fill(map_t<LOG> &m, long n)
{
	long grows = 0;
	for (long i = 0; i < n; i++) {
		size_t b = m.bucket_count();
		if (LOG)
			m[i] = i; /* LOG_LINE */
		else
			m[i] = i; /* RECORD_LINE */
		grows += m.bucket_count() != b;
	}
	return grows;
}

int main()
{
	records = new std::vector<size_t>;
	long log_grows = 0, record_grows = 0;
	for (int r = 0; r < 200; r++) {
		map_t<true> a;
		log_grows += fill(a, 500);
		map_t<false> b;
		record_grows += fill(b, 500);
	}
	std::printf("log %ld record %ld\n", log_grows, record_grows);
	delete records;
	return logged == 0;
}
