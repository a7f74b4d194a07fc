// SPDX-License-Identifier: MIT
// unordered_maps whose bucket arrays do not come from the heap calls that follow their grows
// (tests/integration/maps.sh). Each site prints what it counts itself, watching bucket_count()
// around every insert: "site NAME line L instances 1 grows G max M"
// (L: the line of its first grow, its site).
//  - late_pmr: a std::pmr map on a static buffer grows, a plain map grows once, then the pmr
//    map takes more elements without growing (they went uncounted: its size at its last grow).
//  - late_arena: the same with a bump allocator on a static arena.
//  - kept_a / kept_b: a caching allocator keeps freed bucket arrays and hands them out again;
//    b grows into a's old array (no heap call), then grows on (b was split in two instances, the
//    second one at the insert line of that later grow).
//  - turns_a / turns_b: the same two filled in turns, so that b gets a's old arrays each time.
//  - handed_d / handed_e: d dies unseen (its arrays stay with the allocator); e gets d's last
//    array, still listed as d's: d's max must stay its own.
#include <cstdio>
#include <cstdlib>
#include <memory_resource>
#include <new>
#include <unordered_map>

#define NOINLINE __attribute__((noinline))

struct count {
	unsigned long grows;
	size_t max;
	int line; /* of its first grow: its site's */
};

/* A macro, so that each site's inserts are on its own line. */
#define PUT(m, k, c)                                                                               \
	do {                                                                                       \
		size_t b_ = (m).bucket_count();                                                    \
		(m)[k] = k;                                                                        \
		if ((m).bucket_count() > b_ && !(c).grows++)                                       \
			(c).line = __LINE__;                                                       \
		if ((m).size() > (c).max)                                                          \
			(c).max = (m).size();                                                      \
	} while (0)

static void say(const char *name, const count &c)
{
	std::printf("site %s line %d instances 1 grows %lu max %zu\n", name, c.line, c.grows,
		    c.max);
}

alignas(64) static char pmr_buf[1 << 16];

NOINLINE static void late_pmr(void)
{
	std::pmr::monotonic_buffer_resource res(pmr_buf, sizeof pmr_buf,
						std::pmr::null_memory_resource());
	std::pmr::unordered_map<int, int> a(&res);
	std::unordered_map<int, int> b;
	count ca{}, cb{};
	for (int i = 0; i < 70; i++)
		PUT(a, i, ca);
	PUT(b, 0, cb);
	for (int i = 70; i < 100; i++)
		PUT(a, i, ca);
	say("late_pmr", ca);
	say("late_pmr_plain", cb);
}

alignas(64) static char arena[1 << 16];
static size_t arena_used;

template <class T> struct Bump {
	typedef T value_type;
	Bump() = default;
	template <class U> Bump(const Bump<U> &)
	{
	}
	template <class U> bool operator==(const Bump<U> &) const
	{
		return true;
	}
	template <class U> bool operator!=(const Bump<U> &) const
	{
		return false;
	}
	T *allocate(size_t n)
	{
		size_t s = (n * sizeof(T) + 15) & ~(size_t)15;
		if (arena_used + s > sizeof arena)
			std::abort();
		T *p = (T *)(arena + arena_used);
		arena_used += s;
		return p;
	}
	void deallocate(T *, size_t)
	{
	}
};

NOINLINE static void late_arena(void)
{
	std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
			   Bump<std::pair<const int, int>>>
	    a;
	std::unordered_map<int, int> b;
	count ca{}, cb{};
	for (int i = 0; i < 70; i++)
		PUT(a, i, ca);
	PUT(b, 0, cb);
	for (int i = 70; i < 300; i++) {
		PUT(a, i, ca);
		if (i % 50 == 0)
			PUT(b, i, cb); /* b grows now and then, a's cache moves to b each time */
	}
	say("late_arena", ca);
	say("late_arena_plain", cb);
}

struct slot {
	void *p;
	size_t size;
};
static slot shelves[3][64]; /* one per scenario below */

/* Frees nodes, keeps bucket arrays (larger than a node) on shelf S for the next one of their
 * size. */
template <class T, int S> struct Keep {
	typedef T value_type;
	template <class U> struct rebind {
		typedef Keep<U, S> other;
	};
	Keep() = default;
	template <class U> Keep(const Keep<U, S> &)
	{
	}
	template <class U> bool operator==(const Keep<U, S> &) const
	{
		return true;
	}
	template <class U> bool operator!=(const Keep<U, S> &) const
	{
		return false;
	}
	T *allocate(size_t n)
	{
		size_t s = n * sizeof(T);
		for (auto &k : shelves[S])
			if (k.p && k.size == s) {
				void *p = k.p;
				k.p = nullptr;
				return (T *)p;
			}
		return (T *)::operator new(s);
	}
	void deallocate(T *p, size_t n)
	{
		size_t s = n * sizeof(T);
		if (s <= 32) {
			::operator delete(p);
			return;
		}
		for (auto &k : shelves[S])
			if (!k.p) {
				k.p = p;
				k.size = s;
				return;
			}
		std::abort();
	}
};
template <int S>
using kept_on = std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
				   Keep<std::pair<const int, int>, S>>;
typedef kept_on<0> kept_map;

NOINLINE static void kept_a(kept_map &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void kept_b(kept_map &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void kept_b_on(kept_map &m, int from, int to, count &c)
{
	for (int i = from; i < to; i++)
		PUT(m, i, c);
}

NOINLINE static void kept(void)
{
	kept_map a, b;
	count ca{}, cb{};
	kept_b(b, 0, 29, cb);	   /* b: 29 buckets */
	kept_a(a, 0, 60, ca);	   /* a: 13, 29, 59, 127: its 59-bucket array is kept */
	kept_b(b, 29, 30, cb);	   /* b grows to 59 buckets: a's old array, no heap call */
	kept_b_on(b, 30, 100, cb); /* b grows on, to 127 (this line's instance was b's second) */
	say("kept_b", cb);
	say("kept_a", ca);
}

NOINLINE static void turns(void)
{
	kept_on<1> a, b;
	count ca{}, cb{};
	for (int i = 0; i < 300; i++) {
		PUT(a, i, ca);
		if (i % 2)
			PUT(b, i, cb);
	}
	say("turns_a", ca);
	say("turns_b", cb);
}

/* d grows to 127 buckets on heap arrays and dies; e gets d's last array from the shelf (d's
 * death was not seen: e's first insert after that grow tells). */
NOINLINE static void handed_d(count &c)
{
	kept_on<2> d;
	for (int i = 0; i < 100; i++)
		PUT(d, i, c);
}

NOINLINE static void handed_e(count &c)
{
	kept_on<2> e;
	for (int i = 0; i < 120; i++)
		PUT(e, i, c);
}

NOINLINE static void handed(void)
{
	count cd{}, ce{};
	handed_d(cd);
	handed_e(ce);
	say("handed_d", cd);
	say("handed_e", ce);
}

int main()
{
	late_pmr();
	late_arena();
	kept();
	turns();
	handed();
	return 0;
}
