/* SPDX-License-Identifier: MIT */
/* The registry of per-thread counter records. */
#ifndef MP_PRELOAD_THREAD_H
#define MP_PRELOAD_THREAD_H
#include "mp.h"

struct mp_totals {
	uint64_t alloc_calls, free_calls, alloc_bytes, threads;
	/* The lifetimes so far, in ns, of the threads that grew a map: what a site's grow time is
	 * a share of (the run's duration counts once however many threads grew maps in it). */
	uint64_t grow_thread_ns;
};

/* Creates the thread-exit key. Called once by init. */
MP_HIDDEN bool mp_thread_init(void);
/* Gives the calling thread its record and its first sample interval, unless it is exiting
 * (guard held; may take the registry lock). */
MP_HIDDEN void mp_thread_attach(mp_tls_t *t);
/* Counts one call made by a thread without a record (exiting, or out of memory). */
MP_HIDDEN void mp_thread_count_orphan(uint64_t allocs, uint64_t frees, uint64_t bytes);
/* Guard not held. Counts a free made by a thread without a record: a thread that only frees
 * gets its own record here, so it does not write shared counters on every free. */
MP_HIDDEN void mp_thread_count_free_cold(mp_tls_t *t);
/* Takes back one free counted as an orphan's (a realloc that failed). */
MP_HIDDEN void mp_thread_uncount_orphan_free(void);
/* Sums every record, live or reused, and the orphan counts. */
MP_HIDDEN void mp_thread_totals(struct mp_totals *out);
/* Fork prepare: waits until no record's capturing flag is up (stack.c). */
MP_HIDDEN void mp_thread_wait_captures(void);
/* Every table lock held: the records' pending in-use estimate changes (table.c). */
MP_HIDDEN int64_t mp_thread_est_pending(void);
/* Registry lock, for the fork handlers. */
MP_HIDDEN void mp_thread_lock(void);
MP_HIDDEN void mp_thread_unlock(void);
/* Fork child: the calling thread is the only one; all counts restart at zero. */
MP_HIDDEN void mp_thread_reset_child(mp_tls_t *t);
#endif
