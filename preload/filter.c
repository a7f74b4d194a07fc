/* SPDX-License-Identifier: MIT */
/* A counting filter over the pointers the shim tracks (sampled objects, map bucket arrays).
 * free() reads one byte of it: zero means "certainly not tracked", so the unsampled fast path
 * needs no lock and writes nothing shared. Counters are only changed on slow paths, under the
 * table lock; a counter that reaches 255 sticks there (a false positive costs one lookup under
 * the lock, never a wrong answer). */
#include <string.h>
#include <sys/mman.h>
#include "mp.h"

#define SLOTS (1u << MP_FILTER_BITS)

/* Before init, free() of anything reads this all-zero page-sized stand-in. */
static uint8_t zero_slots[SLOTS];
uint8_t *mp_filter_bits = zero_slots;

static inline uint8_t *slot(const void *p)
{
	uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull;
	return &mp_filter_bits[h >> (64 - MP_FILTER_BITS)];
}

bool mp_filter_init(void)
{
	/* Its own mapping: untouched pages cost no memory, so 1 MiB of counters adds to RSS
	 * only where tracked pointers hash. */
	void *m = mmap(NULL, SLOTS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return false;
	mp_filter_bits = m;
	return true;
}

/* Table lock held. */
void mp_filter_add(const void *p)
{
	uint8_t *s = slot(p);
	if (*s != 255)
		__atomic_store_n(s, (uint8_t)(*s + 1), __ATOMIC_RELEASE);
}

/* Table lock held. */
void mp_filter_remove(const void *p)
{
	uint8_t *s = slot(p);
	if (*s != 255 && *s != 0)
		__atomic_store_n(s, (uint8_t)(*s - 1), __ATOMIC_RELEASE);
}

/* Fork child, single-threaded: forget everything the parent tracked. */
void mp_filter_reset(void)
{
	if (mp_filter_bits != zero_slots)
		madvise(mp_filter_bits, SLOTS, MADV_DONTNEED);
}
