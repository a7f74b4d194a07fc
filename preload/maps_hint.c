/* SPDX-License-Identifier: MIT */
/* Which instance holds an unordered_map's bucket array, readable without the maps lock.
 *
 * A thread counts the elements of the map it grew last (maps_stdcxx.c, the elements cache) and
 * remembers the last few it grew; inserts by any other thread into a map went uncounted. A map
 * filled on one thread and finished on another (handed over through a queue), or filled by
 * threads in turn under a mutex, then showed the size it had at its last grow: a map of 12
 * reported as "tiny", a shared map short of a whole thread's inserts. The maps lock on every
 * such insert would cost too much; so a small set-associative table, written under the lock
 * whenever an instance takes a bucket array, lets any insert find the instance by the map's
 * array and raise its largest size. Entries are not removed when an array is freed (one scan
 * fewer per grow): a stale entry fails the check every read makes, that the instance read
 * from it still holds the array, tracked or learned (instances are arena memory, never
 * unmapped, so a stale one is safe to read). The table is a cache: an insert that finds no
 * entry (its set overflowed: many maps filled at once; or the array was never entered: a map
 * whose arrays do not come from malloc, whose thread moved on to another map before its next
 * insert) asks the maps lock once (maps_stdcxx.c, other_map), and the entry it finds goes in. */
#include <string.h>
#include "maps_int.h"

#define SET_BITS 13 /* 8192 sets of 4: 512 KiB, touched only where maps' arrays hash */
#define WAYS	 4

struct hint {
	const void *array;
	mp_map_inst_t *inst;
};

/* One cache line per set. Written under the maps lock (inst, then array with release), read by
 * any thread (array with acquire, then inst). */
static struct hint hints[1u << SET_BITS][WAYS] __attribute__((aligned(64)));
static uint8_t victim[1u << SET_BITS]; /* maps lock held: the way to evict next */

static inline unsigned set_of(const void *p)
{
	return (unsigned)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS));
}

void mp_maps_hint_put_locked(mp_map_inst_t *m, const void *p)
{
	unsigned k = set_of(p);
	struct hint *s = hints[k];
	int w = -1;
	for (int i = 0; i < WAYS; i++) {
		const void *a = s[i].array;
		if (a == p) {
			w = i;
			break;
		}
		if (w < 0 && !a)
			w = i;
	}
	if (w < 0) {
		w = victim[k];
		victim[k] = (uint8_t)((w + 1) % WAYS);
	}
	__atomic_store_n(&s[w].inst, m, __ATOMIC_RELAXED);
	__atomic_store_n(&s[w].array, p, __ATOMIC_RELEASE);
}

bool mp_maps_hint_note(const void *array, uint64_t elems)
{
	struct hint *s = hints[set_of(array)];
	for (int i = 0; i < WAYS; i++) {
		if (__atomic_load_n(&s[i].array, __ATOMIC_ACQUIRE) != array)
			continue;
		mp_map_inst_t *m = __atomic_load_n(&s[i].inst, __ATOMIC_RELAXED);
		if (m && (__atomic_load_n(&m->array, __ATOMIC_RELAXED) == array ||
			  __atomic_load_n(&m->learned, __ATOMIC_RELAXED) == array)) {
			mp_maps_raise_max(m, elems);
			return true;
		}
		return false; /* stale: the array is another map's now, or no map's we know */
	}
	return false;
}

void mp_maps_hint_reset(void)
{
	memset(hints, 0, sizeof(hints));
	memset(victim, 0, sizeof(victim));
}
