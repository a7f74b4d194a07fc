/* SPDX-License-Identifier: MIT */
/* The whole unsampled fast path, shared by the malloc family (interpose.c) and the C++
 * operators (cxx.c): no lock, no syscall, writes only to this thread's TLS and record.
 *
 * The tests are arranged so that one compare each rules out everything rare: `avail` is 0 until
 * the thread has a record (and in exact mode), `hold` is nonzero until then too, while the
 * guard is held, when the thread is exiting and when a map hook waits for an allocation, and
 * the free filter also answers "maybe" for NULL and for bootstrap blocks. Neither looks at
 * mp_state: before READY every thread is unattached (mp.h). Whatever fails a test goes to a slow
 * path that sorts the cases out; the fast one is a handful of instructions before a tail call to
 * the real function (around it, where the result must be seen). */
#ifndef MP_PRELOAD_HOT_H
#define MP_PRELOAD_HOT_H
#include "mp.h"
#include "thread.h"

/* Before the real allocation of `size` bytes: counts it and returns true when it is not a
 * sample point and nothing is held (then size < avail <= MP_FAST_MAX). The caller must undo
 * the count if the allocation fails (malloc's unchecked tail call cannot: fallible.c).
 * false: nothing was done, take the slow path. */
static inline bool mp_fast_alloc(mp_tls_t *t, size_t size)
{
	if (mp_unlikely(size >= t->avail) || mp_unlikely(t->hold != 0))
		return false;
	t->avail -= size;   /* also counts the bytes: mp_avail_set */
	t->n.alloc_calls++; /* the thread has a record: hold is set until it does */
	return true;
}

/* The allocation counted by mp_fast_alloc failed: nothing happened after all (and
 * allocations may fail from now on). Out of line, finding the TLS again. */
MP_HIDDEN void mp_fast_alloc_undo(size_t size);

/* After a successful allocation that did not go through mp_fast_alloc (calloc, realloc, the
 * aligned family, slow paths): counts it, or hands it to the slow path (mp_record_alloc sorts
 * out the guard, a missing record, a map hook and a sample point). */
static inline void mp_note_alloc(mp_tls_t *t, void *p, size_t size)
{
	if (mp_likely(mp_fast_alloc(t, size)))
		return;
	mp_record_alloc(t, p, size);
}

/* Before the real free of p: counts it and returns true when p is certainly not tracked and
 * nothing is held. false: nothing was done, take the slow path (which handles NULL too). */
static inline bool mp_fast_free(mp_tls_t *t, void *p)
{
	if (mp_unlikely(t->hold != 0) || mp_unlikely(mp_filter_maybe(p)))
		return false;
	t->n.free_calls++;
	return true;
}

/* Guard not held. Counts a free off the fast path (a thread without a record gets one here,
 * or counts as an orphan). */
static inline void mp_count_free(mp_tls_t *t)
{
	if (mp_likely(t->rec != NULL) && !t->dying)
		t->n.free_calls++;
	else
		mp_thread_count_free_cold(t);
}

/* The same for a free that may not happen (realloc): true when it went to this thread's count
 * (else to the orphans'), for mp_uncount_free. */
static inline bool mp_count_free_undoable(mp_tls_t *t)
{
	mp_count_free(t);
	return t->rec != NULL && !t->dying;
}

/* The realloc failed: the free counted by mp_count_free_undoable did not happen. */
static inline void mp_uncount_free(mp_tls_t *t, bool own)
{
	if (own)
		t->n.free_calls--;
	else
		mp_thread_uncount_orphan_free();
}

/* Guard not held, p not NULL and not a bootstrap block. Counts a free of p and looks it up
 * when the filter says it may be tracked; must run before the real free so that p cannot be
 * reused under our feet. */
static inline void mp_note_free(mp_tls_t *t, void *p)
{
	if (mp_likely(mp_fast_free(t, p)))
		return;
	mp_count_free(t);
	if (mp_filter_maybe(p))
		mp_record_free(t, p);
}

#endif
