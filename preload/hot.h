/* SPDX-License-Identifier: MIT */
/* The whole unsampled fast path, shared by the malloc family (interpose.c) and the C++
 * operators (cxx.c): no lock, no syscall, writes only to this thread's TLS and record. */
#ifndef MP_PRELOAD_HOT_H
#define MP_PRELOAD_HOT_H
#include "mp.h"
#include "thread.h"

/* Guard not held. Counts a successful allocation and takes the slow path at a sample point,
 * on a thread's first call, or when a map hook waits for this allocation. */
static inline void mp_note_alloc(mp_tls_t *t, void *p, size_t size)
{
	mp_thread_t *r = t->rec;
	if (mp_likely(r != NULL)) {
		r->alloc_calls++;
		r->alloc_bytes += size;
	}
	t->countdown -= (int64_t)size;
	if (mp_unlikely(t->countdown < 0 || r == NULL || t->map_pending))
		mp_record_alloc(t, p, size);
}

/* Guard not held. Counts a free of p (non-NULL) and looks it up when the filter says it may be
 * tracked; must run before the real free so that p cannot be reused under our feet. */
static inline void mp_note_free(mp_tls_t *t, void *p)
{
	mp_thread_t *r = t->rec;
	if (mp_likely(r != NULL))
		r->free_calls++;
	else
		mp_thread_count_free_cold(t);
	if (mp_unlikely(mp_filter_maybe(p)))
		mp_record_free(t, p);
}

#endif
