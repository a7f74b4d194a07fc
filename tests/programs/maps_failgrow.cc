// SPDX-License-Identifier: MIT
// Grows whose bucket array cannot be allocated (tests/integration/maps.sh). libstdc++ then
// throws out of the rehash and leaves the map as it was: no grow, no element added. Each part
// counts its own grows by watching bucket_count() and prints "name grows G instances I max M".
//   between: a map grows, a reserve() of 2^40 buckets fails, another map grows, the first
//            grows on (one instance, at the first line);
//   thrower: 10 maps whose allocator throws bad_alloc itself on one bucket array (a failing
//            reserve()), then grow on;
//   empty:   10 maps whose first grow (a reserve() of 2^40) fails, then grow by inserts;
//   pmrthrow: 10 std::pmr maps on a buffer (no malloc: the array is never seen) that throw and
//            catch an exception right after each grow: each grow happened and is counted;
//   newfail: 100 failing ::operator new(2^43), each exception kept: the exception objects are
//            allocations of new_fails (they were not counted, their frees were). Prints
//            "newfail kept N".
// Usage: maps_failgrow [throw|alloc]: with a new-handler installed that throws bad_alloc, or
// that allocates a log line and takes itself off at its third call (the same counts).
#include <cstdio>
#include <exception>
#include <memory_resource>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

static bool fail_arrays;

/* The new-handler of "alloc": a log line per call (the handler's own allocation, not a
 * bucket array), off at its third call of a failure. */
static std::string *log_line;
static int handler_calls;
static void handler_alloc()
{
	delete log_line;
	log_line = new std::string(100, 'x');
	if (++handler_calls == 3)
		std::set_new_handler(nullptr);
}
static void handler_throw()
{
	throw std::bad_alloc();
}
static std::new_handler handler;
static void rearm()
{
	handler_calls = 0;
	std::set_new_handler(handler);
}

template <class T> struct flaky {
	using value_type = T;
	flaky() = default;
	template <class U> flaky(const flaky<U> &)
	{
	}
	T *allocate(size_t n)
	{
		if (fail_arrays && sizeof(T) == sizeof(void *)) /* a bucket array */
			throw std::bad_alloc();
		return static_cast<T *>(::operator new(n * sizeof(T)));
	}
	void deallocate(T *p, size_t)
	{
		::operator delete(p);
	}
	template <class U> bool operator==(const flaky<U> &) const
	{
		return true;
	}
	template <class U> bool operator!=(const flaky<U> &) const
	{
		return false;
	}
};
using flaky_map = std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
				     flaky<std::pair<const int, int>>>;

/* Inserts keys [from, to) into m at the line of the macro's use (the site), counting grows. */
#define PUT(m, from, to)                                                                           \
	({                                                                                         \
		int g_ = 0;                                                                        \
		for (int i_ = (from); i_ < (to); i_++) {                                           \
			size_t b_ = (m).bucket_count();                                            \
			(m)[i_] = i_;                                                              \
			g_ += (m).bucket_count() != b_;                                            \
		}                                                                                  \
		g_;                                                                                \
	})

__attribute__((noinline)) static int fill_a(std::unordered_map<int, int> &m, int from, int to)
{
	return PUT(m, from, to); /* A_LINE */
}

__attribute__((noinline)) static int fill_b(std::unordered_map<int, int> &m)
{
	return PUT(m, 0, 1); /* B_LINE */
}

__attribute__((noinline)) static void between()
{
	std::unordered_map<int, int> a, b;
	int ga = fill_a(a, 0, 20);
	try {
		a.reserve(1ULL << 40);
	} catch (const std::bad_alloc &) {
		rearm();
	}
	int gb = fill_b(b);
	ga += fill_a(a, 20, 40);
	std::printf("between_a grows %d instances 1 max %zu\n", ga, a.size());
	std::printf("between_b grows %d instances 1 max %zu\n", gb, b.size());
}

__attribute__((noinline)) static void thrower()
{
	int g = 0;
	size_t max = 0;
	for (int k = 0; k < 10; k++) {
		flaky_map m;
		g += PUT(m, 0, 20); /* THROWER_LINE */
		fail_arrays = true;
		try {
			m.reserve(200);
		} catch (const std::bad_alloc &) {
		}
		fail_arrays = false;
		g += PUT(m, 20, 100); /* THROWER_LINE2 */
		max = m.size() > max ? m.size() : max;
	}
	std::printf("thrower grows %d instances 10 max %zu\n", g, max);
}

__attribute__((noinline)) static void empty()
{
	int g = 0;
	size_t max = 0;
	for (int k = 0; k < 10; k++) {
		std::unordered_map<int, int> m;
		try {
			m.reserve(1ULL << 40); /* EMPTY_LINE */
		} catch (const std::bad_alloc &) {
			rearm();
		}
		g += PUT(m, 0, 20); /* EMPTY_LINE2 */
		max = m.size() > max ? m.size() : max;
	}
	std::printf("empty grows %d instances 10 max %zu\n", g, max);
}

static char pmr_buf[1 << 20];

__attribute__((noinline)) static void pmrthrow()
{
	int g = 0;
	size_t max = 0;
	for (int k = 0; k < 10; k++) {
		std::pmr::monotonic_buffer_resource res(pmr_buf, sizeof(pmr_buf),
							std::pmr::null_memory_resource());
		std::pmr::unordered_map<int, int> m(&res);
		for (int i = 0; i < 100; i++) {
			size_t b = m.bucket_count();
			m[i] = i; /* PMR_LINE */
			if (m.bucket_count() != b) {
				g++;
				try {
					throw k;
				} catch (int) {
				}
			}
		}
		max = m.size() > max ? m.size() : max;
	}
	std::printf("pmrthrow grows %d instances 10 max %zu\n", g, max);
}

__attribute__((noinline)) static void new_fails(std::vector<std::exception_ptr> &kept)
{
	for (int k = 0; k < 100; k++) {
		try {
			void *volatile p = ::operator new(1ULL << 43);
			::operator delete(p);
		} catch (const std::bad_alloc &) {
			kept.push_back(std::current_exception());
			rearm();
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 1)
		handler = std::string(argv[1]) == "throw" ? handler_throw : handler_alloc;
	rearm();
	between();
	thrower();
	empty();
	pmrthrow();
	std::vector<std::exception_ptr> kept;
	kept.reserve(100);
	new_fails(kept);
	std::printf("newfail kept %zu\n", kept.size());
	delete log_line;
	return 0;
}
