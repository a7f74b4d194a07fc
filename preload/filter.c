/* SPDX-License-Identifier: MIT */
/* A counting filter over the pointers the shim tracks (sampled objects, map bucket arrays).
 * free() reads one byte of it: zero means "certainly not tracked", so the unsampled fast path
 * needs no lock and writes nothing shared. Each byte holds two 4-bit counters: the low nibble
 * counts sampled objects (the table's), the high one map bucket arrays (maps.c's), so a free
 * that hits the filter takes only the lock of the structure that may hold it. Counters change
 * only on slow paths, with atomic read-modify-writes (owners update one byte under different
 * locks, or none); a counter that reaches 15 sticks there (a false positive costs
 * one lookup, never a wrong answer). */
#include <string.h>
#include <sys/mman.h>
#include "mp.h"

#define SLOTS (1u << MP_FILTER_BITS)

/* Before init, free() of anything reads this all-zero stand-in (free takes its slow path
 * then anyway: the state is not READY). */
static uint8_t zero_slots[SLOTS];
uint8_t *mp_filter_bits = zero_slots;

static void pin_all(void);

static inline uint8_t *slot(const void *p)
{
	return &mp_filter_bits[mp_filter_slot(p)];
}

bool mp_filter_init(void)
{
	/* Its own mapping: untouched pages cost no memory, so 1 MiB of counters adds to RSS
	 * only where tracked pointers hash. */
	void *m = mmap(NULL, SLOTS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return false;
	__atomic_store_n(&mp_filter_bits, (uint8_t *)m, __ATOMIC_SEQ_CST);
	pin_all();
	return true;
}

/* Adds d (+1 or -1) to the nibble at shift sh unless it is stuck at 15 (or would go below 0).
 * A CAS loop: the other nibble of the byte may change concurrently, unless the process has one
 * thread (mp.h: then a plain store). */
static void bump(const void *p, unsigned sh, int d)
{
	uint8_t *s = slot(p);
	uint8_t old = __atomic_load_n(s, __ATOMIC_RELAXED), nv;
	do {
		unsigned c = (old >> sh) & 15;
		if (c == 15 || (d < 0 && c == 0))
			return;
		nv = (uint8_t)((old & ~(15u << sh)) | ((c + (unsigned)d) << sh));
		if (mp_likely(mp_single_threaded())) {
			__atomic_store_n(s, nv, __ATOMIC_RELAXED);
			return;
		}
	} while (
	    !__atomic_compare_exchange_n(s, &old, nv, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* The lock of p's live-table shard held (sampled objects, table.c); two shards may share a
 * byte, hence the CAS in bump. */
void mp_filter_add(const void *p)
{
	bump(p, MP_FILTER_SAMPLE_SHIFT, 1);
}

void mp_filter_remove(const void *p)
{
	bump(p, MP_FILTER_SAMPLE_SHIFT, -1);
}

/* Any lock or none (map bucket arrays, maps.c). */
void mp_filter_add_map(const void *p)
{
	bump(p, MP_FILTER_MAP_SHIFT, 1);
}

void mp_filter_remove_map(const void *p)
{
	bump(p, MP_FILTER_MAP_SHIFT, -1);
}

/* Sets the sample counter of p's byte to 15, where it sticks: free's fast path then sends p
 * to the slow path, which knows NULL and the bootstrap area. */
static void pin(const void *p)
{
	uint8_t *s = slot(p);
	uint8_t old = __atomic_load_n(s, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(s, &old,
					    (uint8_t)(old | (15u << MP_FILTER_SAMPLE_SHIFT)), true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

void mp_filter_pin_bootstrap(const void *p)
{
	if (__atomic_load_n(&mp_filter_bits, __ATOMIC_SEQ_CST) != zero_slots)
		pin(p);
}

/* NULL and every 16-byte step of the bootstrap area handed out so far (blocks are 16-byte
 * aligned at least). Nearly always just NULL: glibc's dlsym does not allocate. */
static void pin_all(void)
{
	pin(NULL);
	size_t used = mp_bootstrap_used();
	for (size_t off = 0; off < used; off += 16)
		pin(mp_bootstrap_area + off);
}

/* Fork child, single-threaded: forget everything the parent tracked. */
void mp_filter_reset(void)
{
	if (mp_filter_bits != zero_slots) {
		madvise(mp_filter_bits, SLOTS, MADV_DONTNEED);
		pin_all();
	}
}
