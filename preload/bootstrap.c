/* SPDX-License-Identifier: MIT */
/* The static area that serves allocations made before the real allocator is known (dlsym may
 * call calloc while it resolves malloc). free() ignores these blocks; realloc copies out of
 * them; malloc_usable_size reports their size. */
#include <stdint.h>
#include "mp.h"

struct bheader {
	size_t size;
	size_t pad;
};

/* Written by a compare-and-swap bump; blocks are never reused. Read by mp_bootstrap_owns
 * (mp.h), so it is a hidden global rather than a static. free's fast path does not test it:
 * the blocks are pinned in the free filter instead (filter.c). */
char mp_bootstrap_area[MP_BOOTSTRAP_SIZE] __attribute__((aligned(64)));
#define area	       mp_bootstrap_area
#define BOOTSTRAP_SIZE MP_BOOTSTRAP_SIZE
static size_t used;

void *mp_bootstrap_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	if (align > 4096 || size > BOOTSTRAP_SIZE)
		return NULL;
	size_t old = __atomic_load_n(&used, __ATOMIC_RELAXED);
	for (;;) {
		uintptr_t base = (uintptr_t)area + old + sizeof(struct bheader);
		uintptr_t p = (base + align - 1) & ~(uintptr_t)(align - 1);
		size_t end = p + size - (uintptr_t)area;
		if (end > BOOTSTRAP_SIZE)
			return NULL;
		if (__atomic_compare_exchange_n(&used, &old, end, false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED)) {
			((struct bheader *)p)[-1].size = size;
			/* A block handed out after the filter exists (a racing thread) is pinned
			 * here; the ones before are pinned by mp_filter_init. */
			mp_filter_pin_bootstrap((void *)p);
			return (void *)p; /* static storage: already zero */
		}
	}
}

size_t mp_bootstrap_size(const void *p)
{
	return ((const struct bheader *)p)[-1].size;
}

size_t mp_bootstrap_used(void)
{
	return __atomic_load_n(&used, __ATOMIC_SEQ_CST);
}
