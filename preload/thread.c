/* SPDX-License-Identifier: MIT */
/* Per-thread exact counters (allocation calls, frees, bytes). Each thread writes only its own
 * record, so counting takes no lock and shares no cache line. Records live in arena memory and
 * are never freed: when a thread exits its record is marked free and the next new thread keeps
 * counting in it, which folds the dead thread's totals in without any copying. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "arena.h"
#include "maps.h"
#include "stack.h"
#include "thread.h"
#include "trigger.h"

/* registry_lock protects the list and the live flags. Counters are written by their owner
 * without a lock and read by the dump writer with relaxed loads (a dump is a snapshot). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static mp_thread_t *registry;
static uint32_t nthreads;
static pthread_key_t exit_key;
static bool have_key;
/* Counts of threads without a record (written with atomics: rare). */
static uint64_t orphan_allocs, orphan_frees, orphan_bytes;
/* Lifetimes of the exited threads that grew a map (registry lock). */
static uint64_t grow_thread_ns;

/* Registry lock held: r's owner lived from r->born_ns to now, counted if it grew a map. */
static uint64_t grow_life(const mp_thread_t *r, uint64_t now)
{
	if (!__atomic_load_n(&r->grew_maps, __ATOMIC_RELAXED) || now < r->born_ns)
		return 0;
	return now - r->born_ns;
}

static void on_thread_exit(void *arg)
{
	mp_thread_t *r = arg;
	mp_tls_t *t = &mp_tls;
	t->guard++;
	bool watch, others = false;
	pthread_mutex_lock(&registry_lock);
	/* under the lock: main's own exit sets what this reads, then looks at the others */
	watch = mp_trigger_watching();
	r->folded.alloc_calls += t->n.alloc_calls;
	r->folded.free_calls += t->n.free_calls;
	r->folded.alloc_bytes += t->n.alloc_bytes + (t->avail_set - t->avail);
	grow_thread_ns += grow_life(r, mp_mono_ns());
	r->live_t = NULL;
	r->live = 0;
	for (mp_thread_t *it = watch ? registry : NULL; it && !others; it = it->next)
		others = it->live;
	pthread_mutex_unlock(&registry_lock);
	t->n = (struct mp_counts){0, 0, 0};
	mp_avail_forget(t);
	/* Later calls on this thread (other destructors) count as orphans: the record may already
	 * belong to a new thread. */
	t->rec = NULL;
	t->dying = 1; /* avail stays: allocations from here on still take the slow path (hold) and
		       * are sampled on the thread's own countdown, as before (record.c) */
	if (mp_config.maps)
		mp_maps_thread_exit(); /* no map may point at this thread's TLS any more */
	mp_stack_trace_release(t);
	if (watch && !others) /* the last: the writer must not keep the process */
		mp_trigger_last_gone();
	t->guard--;
}

bool mp_thread_init(void)
{
	have_key = pthread_key_create(&exit_key, on_thread_exit) == 0;
	return have_key;
}

void mp_thread_attach(mp_tls_t *t)
{
	if (t->dying)
		return;
	mp_thread_t *r = NULL;
	pthread_mutex_lock(&registry_lock);
	for (mp_thread_t *it = registry; it; it = it->next) {
		if (!it->live) {
			r = it;
			break;
		}
	}
	if (!r) {
		r = mp_arena_alloc(sizeof(*r));
		if (r) {
			r->next = registry;
			registry = r;
		}
	}
	if (r) {
		t->n = (struct mp_counts){0, 0, 0};
		mp_avail_forget(t);
		r->live_t = t;
		r->live = 1;
		r->index = nthreads++;
		r->born_ns = mp_mono_ns();
		r->tid = (int32_t)syscall(SYS_gettid);
		__atomic_store_n(&r->grew_maps, 0, __ATOMIC_RELAXED);
		r->floor_known = r->floor_reads = 0; /* another thread's stack */
	}
	pthread_mutex_unlock(&registry_lock);
	if (!r)
		return;
	/* Without the exit destructor the record would point at freed TLS: no record then (the
	 * thread counts as an orphan). Outside the lock: it may allocate. */
	if (!have_key || pthread_setspecific(exit_key, r) != 0) {
		pthread_mutex_lock(&registry_lock);
		r->live_t = NULL;
		r->live = 0;
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	if (r->scache)
		mp_stack_cache_forget(r->scache); /* a reused record: its stack was elsewhere */
	t->rng = mp_sample_rng_seed(mp_config.seed, r->index);
	/* A fresh thread starts from a fresh sample interval. */
	int64_t first = mp_sample_next(&t->rng, mp_config.rate);
	mp_countdown_set(t, first < 0 ? 0 : (uint64_t)first);
	t->rec = r;
	t->unattached = 0;
}

void mp_thread_count_orphan(uint64_t allocs, uint64_t frees, uint64_t bytes)
{
	__atomic_fetch_add(&orphan_allocs, allocs, __ATOMIC_RELAXED);
	__atomic_fetch_add(&orphan_frees, frees, __ATOMIC_RELAXED);
	__atomic_fetch_add(&orphan_bytes, bytes, __ATOMIC_RELAXED);
}

/* Frees before a thread's first allocation get it a record only from the 64th on. glibc frees
 * the dtv of a detached thread on the thread itself after its key destructors ran: a record
 * taken then is never let go by the exit destructor (1,000 short threads that never allocate
 * left a thousand, each read by the dumps). Its teardown frees a few blocks; a thread that only
 * frees (a consumer) attaches soon enough. Records taken that late all the same (the 64th
 * free, an allocation in another key's last destructor round) are released by the next dump
 * (owner_gone). */
#define ATTACH_AFTER_FREES 64

void mp_thread_count_free_cold(mp_tls_t *t)
{
	if (!t->dying && !t->guard && ++t->free_wait >= ATTACH_AFTER_FREES) {
		t->guard++;
		mp_thread_attach(t);
		t->guard--;
		if (t->rec) {
			t->n.free_calls++;
			return;
		}
	}
	__atomic_fetch_add(&orphan_frees, 1, __ATOMIC_RELAXED);
}

void mp_thread_uncount_orphan_free(void)
{
	__atomic_fetch_sub(&orphan_frees, 1, __ATOMIC_RELAXED);
}

/* Registry lock held: bytes counted by the live thread t (any thread, the caller's own too).
 * Its owner rewrites n.alloc_bytes, avail and avail_set together, outside the fast path, with
 * bseq odd meanwhile and the value before in bytes_snap (mp.h): a reading taken across a
 * rewrite is taken again, and one that finds the rewrite under way takes bytes_snap (the owner
 * may be this very thread, interrupted there by a signal handler that dumps). */
static uint64_t tls_bytes(mp_tls_t *t)
{
	for (int tries = 0; tries < 100; tries++) {
		uint32_t s1 = __atomic_load_n(&t->bseq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			break;
		uint64_t b = __atomic_load_n(&t->n.alloc_bytes, __ATOMIC_RELAXED);
		uint64_t set = __atomic_load_n(&t->avail_set, __ATOMIC_RELAXED);
		uint64_t avail = __atomic_load_n(&t->avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->bseq, __ATOMIC_RELAXED) == s1)
			return b + (set - avail);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&t->bytes_snap, __ATOMIC_RELAXED);
}

/* Registry lock held: whether r's owner is gone without its exit destructor. A thread that
 * first calls malloc or free after its key destructors ran (glibc's own teardown frees, a
 * destructor of another key in the last round) takes a record that no destructor lets go; its
 * TLS went with its stack, or now belongs to another thread. A thread that no longer exists
 * is released here (its last calls are lost: a few). tgkill with no signal fails with ESRCH
 * once the thread is gone. */
static bool owner_gone(mp_thread_t *r, pid_t pid)
{
	int e = errno;
	bool gone = r->tid > 0 && syscall(SYS_tgkill, pid, r->tid, 0) != 0 && errno == ESRCH;
	errno = e;
	if (gone) {
		r->live_t = NULL;
		r->live = 0;
	}
	return gone;
}

void mp_thread_totals(struct mp_totals *out)
{
	out->alloc_calls = __atomic_load_n(&orphan_allocs, __ATOMIC_RELAXED);
	out->free_calls = __atomic_load_n(&orphan_frees, __ATOMIC_RELAXED);
	out->alloc_bytes = __atomic_load_n(&orphan_bytes, __ATOMIC_RELAXED);
	uint64_t now = mp_mono_ns();
	pid_t pid = (pid_t)syscall(SYS_getpid);
	pthread_mutex_lock(&registry_lock);
	out->grow_thread_ns = grow_thread_ns;
	for (mp_thread_t *r = registry; r; r = r->next) {
		out->alloc_calls += r->folded.alloc_calls;
		out->free_calls += r->folded.free_calls;
		out->alloc_bytes += r->folded.alloc_bytes;
		mp_tls_t *t = r->live_t;
		if (t && t != &mp_tls && owner_gone(r, pid))
			t = NULL;
		if (t) {
			out->grow_thread_ns += grow_life(r, now);
			/* Another thread's TLS, written by its owner without a lock: a dump is a
			 * snapshot, and aligned 64-bit loads do not tear. */
			out->alloc_calls += __atomic_load_n(&t->n.alloc_calls, __ATOMIC_RELAXED);
			out->free_calls += __atomic_load_n(&t->n.free_calls, __ATOMIC_RELAXED);
			out->alloc_bytes += tls_bytes(t);
		}
	}
	out->threads = nthreads;
	pthread_mutex_unlock(&registry_lock);
}

/* Fork prepare (stack.c), after raising its `forking` flag: waits until no thread is inside a
 * stack capture. A thread registering meanwhile sees the flag before it captures. */
void mp_thread_wait_captures(void)
{
	pthread_mutex_lock(&registry_lock);
	for (mp_thread_t *r = registry; r; r = r->next)
		while (__atomic_load_n(&r->capturing, __ATOMIC_SEQ_CST))
			sched_yield();
	pthread_mutex_unlock(&registry_lock);
}

/* Every table lock held (table.c): the sum of the records' pending in-use changes, which only
 * their owners write, under a table lock. Takes the registry lock (order: table -> threads). */
int64_t mp_thread_est_pending(void)
{
	int64_t sum = 0;
	pthread_mutex_lock(&registry_lock);
	for (mp_thread_t *r = registry; r; r = r->next)
		sum += r->est_pending;
	pthread_mutex_unlock(&registry_lock);
	return sum;
}

void mp_thread_lock(void)
{
	pthread_mutex_lock(&registry_lock);
}

void mp_thread_unlock(void)
{
	pthread_mutex_unlock(&registry_lock);
}

void mp_thread_reset_child(mp_tls_t *t)
{
	pthread_mutex_init(&registry_lock, NULL);
	for (mp_thread_t *r = registry; r; r = r->next) {
		r->folded = (struct mp_counts){0, 0, 0};
		r->est_pending = 0;
		r->live = (r == t->rec);
		r->live_t = r->live ? t : NULL; /* the other threads' TLS is gone */
		r->tid = r->live ? (int32_t)syscall(SYS_gettid) : 0; /* the child's own */
		r->born_ns = mp_mono_ns(); /* the child's time starts at the fork */
		__atomic_store_n(&r->grew_maps, 0, __ATOMIC_RELAXED);
	}
	t->n = (struct mp_counts){0, 0, 0};
	mp_avail_forget(t);
	orphan_allocs = orphan_frees = orphan_bytes = 0;
	grow_thread_ns = 0;
	nthreads = t->rec ? 1 : 0;
}
