/* SPDX-License-Identifier: MIT */
/* Internal declarations shared by the shim's modules: the state machine, the per-thread
 * state, the configuration and the real allocator. Nothing here is exported from the .so. */
#ifndef MP_PRELOAD_MP_H
#define MP_PRELOAD_MP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include "mapprof/dump_format.h"

/* Longest path the shim builds (Linux's PATH_MAX). */
#define MP_PATH_MAX 4096

#define MP_HIDDEN      __attribute__((visibility("hidden")))
#define MP_EXPORT      __attribute__((visibility("default")))
#define mp_likely(x)   __builtin_expect(!!(x), 1)
#define mp_unlikely(x) __builtin_expect(!!(x), 0)

/* glibc's own test for skipping atomics (its malloc and libstdc++'s reference counts use it):
 * true until the process first creates a thread, and never true again (pthread_create clears
 * it before the thread exists; a fork child of a threaded process keeps it false). While it
 * holds, no other thread can see what this one writes, so a lock word or a shared counter
 * needs no locked instruction: the map-grow path takes the maps lock twice and bumps the
 * filter twice, about 7 ns a grow on the benchmark's VM (its umap is single-threaded). */
extern char __libc_single_threaded;
static inline bool mp_single_threaded(void)
{
	return __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
}

/* One state for the whole shim, checked first by every entry point. Written by init (once),
 * by the fault path (to DISABLED) and by the fork child handler; read everywhere, relaxed. */
enum mp_state {
	MP_UNINIT = 0, /* nothing resolved yet: the first call runs mp_init() */
	MP_BOOTSTRAP,  /* dlsym is running: allocations come from the static area */
	MP_READY,      /* profiling */
	MP_FORWARD,    /* real functions resolved, profiling off (set-uid, bad config, fault) */
};
extern MP_HIDDEN volatile int mp_state;

/* The allocator underneath (glibc, jemalloc, tcmalloc): resolved with dlsym(RTLD_NEXT). A NULL
 * entry for an optional function means "emulate through the others" (see init.c). Written once
 * by init before the state becomes READY/FORWARD; read-only afterwards. */
struct mp_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
};
extern MP_HIDDEN struct mp_real mp_real;

/* fallible.c: where malloc's fast path hands the call: the real malloc while allocations do not
 * fail, mp_malloc_checked (which takes a failure back out of the counts) once they may. */
extern MP_HIDDEN void *(*mp_malloc_next)(size_t);
MP_HIDDEN void *mp_malloc_checked(size_t size);
/* Init, after mp_real: unchecked unless the process has an address-space or data limit, the
 * system commits strictly, or another thread already saw a failure. */
MP_HIDDEN void mp_fallible_init(void);
/* From now on malloc's fast path checks its results (any thread, any time; for good). */
MP_HIDDEN void mp_alloc_may_fail(void);
/* An allocation of `size` bytes failed. Sizes beyond PTRDIFF_MAX are refused without trying:
 * they say nothing about memory. */
static inline void mp_alloc_failed(size_t size)
{
	if (size <= PTRDIFF_MAX)
		mp_alloc_may_fail();
}

/* Configuration, read once from the environment by init; read-only afterwards. */
struct mp_config {
	uint64_t rate; /* mean bytes between samples; 1 = all; 0 = none */
	uint64_t seed; /* base seed (given or drawn) */
	bool seed_given;
	unsigned depth;	       /* max frames per stack, 1..MP_MAX_DEPTH */
	int signal;	       /* dump on this signal, 0 = none */
	unsigned interval;     /* dump every N seconds, 0 = never */
	bool maps;	       /* map tracking on */
	bool unwind_fp;	       /* MAPPROF_UNWIND=fp: frame-pointer walk instead of libunwind */
	bool stack_cache;      /* MAPPROF_STACK_CACHE: reuse validated stacks (stackcache.c) */
	char out[MP_PATH_MAX]; /* MAPPROF_OUT template */
};
extern MP_HIDDEN struct mp_config mp_config;

/* Exact counts of calls and bytes. */
struct mp_counts {
	uint64_t alloc_calls;
	uint64_t free_calls;
	uint64_t alloc_bytes;
};

/* Each thread owns one record (arena memory, never freed, reused after the thread exits). Its
 * live counts are in its TLS (mp_tls.n and the fast path's bytes: no pointer to chase on the
 * fast path), which the record points at while the thread lives; at thread exit they fold into
 * `folded`. Dumps sum both under the registry lock (thread.c). */
typedef struct mp_thread {
	struct mp_counts folded; /* of the threads that owned it and exited: registry lock */
	struct mp_tls *live_t;	 /* the owner's mp_tls, NULL when none: registry lock */
	struct mp_thread *next;	 /* registry list: written under the registry lock */
	int live;		 /* 1 while a thread owns it */
	uint32_t index;		 /* registration order, for MAPPROF_SEED */
	void *tcache;		 /* table.c's stack/bucket cache: owner only, NULL until used */
	struct mp_stack_cache *scache; /* stackcache.c: owner only, NULL until used */
	uint32_t capturing;  /* stack.c: 1 while the owner is in the unwinder (fork waits) */
	int64_t est_pending; /* table.c: frees not yet in the in-use estimate (<= 0), written
			      * by the owner under a shard lock, read under every shard lock */
	uint64_t born_ns;    /* mp_mono_ns when its owner registered (registry lock) */
	int32_t tid;	     /* its owner's kernel thread id (registry lock) */
	/* stackcache.c: its owner's fixed stack floor (0: none, or
	 * the main thread's, which grows), once floor_known. Owner only. */
	uintptr_t stack_floor;
	uint8_t floor_known, floor_reads;
	uint32_t grew_maps; /* its owner recorded a map grow (set by the owner, relaxed) */
} __attribute__((aligned(64))) mp_thread_t;

/* Per-thread state in initial-exec TLS: reading it never calls __tls_get_addr (which could
 * allocate) and costs one %fs-relative load. The fast path (hot.h) reads avail and hold and
 * writes avail and the counts, all in this thread's TLS. A thread starts with avail 0 and
 * unattached 1, so its first calls take the slow path, which also runs init: the fast path does not
 * look at mp_state (a shim that turns to FORWARD later only keeps counting there, which is
 * harmless). */
typedef struct mp_tls {
	/* Bytes the fast path may still allocate: the part of the distance to the next sample
	 * point it may use, at most MP_FAST_MAX (the rest is in reserve). 0 until the thread
	 * has a record and in exact mode, so that every call takes the slow path. */
	uint64_t avail;
	mp_thread_t *rec; /* NULL until the thread's first slow path registers it */
	/* Anything that needs the slow path, in one word the fast path tests at once. */
	union {
		uint64_t hold;
		struct {
			uint32_t guard;	     /* > 0 while the profiler works: calls pass through */
			uint8_t dying;	     /* thread-exit destructor ran: count as an orphan */
			uint8_t map_pending; /* maps.c wants the next allocation (bucket array) */
			uint8_t unattached;  /* 1 until the thread has a record (TLS image: 1) */
		};
	};
	/* The thread's exact counts since it got its record (written by the owner only, read
	 * by dumps through the record under the registry lock). n.alloc_bytes leaves out what
	 * the fast path allocated since avail was last set, avail_set - avail: the fast path only
	 * moves avail, one write fewer (thread.c's tls_bytes adds it back). */
	struct mp_counts n;
	uint64_t rng;	   /* xorshift state for the sampler */
	uint8_t map_kind;  /* kind of the allocation map_pending waits for */
	uint8_t free_wait; /* frees counted as orphans before a record (thread.c) */
	/* stack.c: how this thread's stacks are unwound: 0 not decided yet, MP_TRACE_FAST with
	 * libunwind's unw_backtrace (whose per-thread cache takes 256 KiB), MP_TRACE_STEP with
	 * a cursor walk (no cache: beyond the first threads). Owner only. */
	uint8_t trace;
	/* While map_pending: the program's stack pointer at its call to malloc or operator new,
	 * set by their slow paths (0 from any other entry point: not known; MP_MAP_CALL_REALLOC
	 * from realloc, whose block holds data: never a new bucket array). A bucket array is
	 * allocated deeper than the call that decided its grow (maps_stdcxx.c). */
	uintptr_t map_call_sp;
	/* Slow path only. avail's value when the slow path last set it, so avail_set - avail
	 * is bytes the fast path counted; bseq is odd while the owner rewrites the pair (a dump
	 * reading another thread's counts retries then, or takes bytes_snap: thread.c). */
	uint32_t bseq;
	uint64_t avail_set;
	uint64_t bytes_snap; /* the bytes as they were before the update bseq marks */
	/* Slow path only. The sample countdown is avail + reserve: avail never exceeds
	 * MP_FAST_MAX (mp_countdown_set), so larger allocations take the slow path. */
	uint64_t reserve;
} mp_tls_t;
extern MP_HIDDEN __thread mp_tls_t mp_tls __attribute__((tls_model("initial-exec")));

/* The guard's and map_pending's changes where a fast path soon reads hold: as changes of the
 * whole word. The fast path reads hold in one 8-byte load, and a store of some of its bytes
 * cannot be forwarded to that load, which then waits for the store to reach the cache: a
 * quarter of operator new's samples, with map tracking on, sat on that load after a grow
 * decision (libstdc++ allocates the bucket array right after it). Each is one instruction, as
 * `t->guard++` was meant to be: a signal handler that runs the profiler between a load of the
 * word and its store (as the compiler splits `t->hold++`, while the guard is still 0) would
 * have its changes to the other bytes undone (a thread it attached marked unattached again,
 * for good). guard is hold's low 32 bits, never UINT32_MAX when entered nor 0 when left, so no
 * carry or borrow reaches the others; map_pending is 0 or 1. */
_Static_assert(offsetof(mp_tls_t, guard) == offsetof(mp_tls_t, hold) &&
		   __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "guard is hold's low half");
#define MP_HOLD_PENDING_BIT (8 * (offsetof(mp_tls_t, map_pending) - offsetof(mp_tls_t, hold)))

static inline void mp_guard_enter(mp_tls_t *t)
{
#if defined(__x86_64__)
	__asm__ volatile("addq $1, %0" : "+m"(t->hold));
#else
	t->guard++;
#endif
}

static inline void mp_guard_leave(mp_tls_t *t)
{
#if defined(__x86_64__)
	__asm__ volatile("subq $1, %0" : "+m"(t->hold));
#else
	t->guard--;
#endif
}

/* Guard held, so that a signal handler changes nothing in hold meanwhile (it passes through):
 * leaves the guard and, when `wait`, sets map_pending, in one store. */
static inline void mp_guard_leave_pending(mp_tls_t *t, bool wait)
{
	t->hold = (t->hold - 1) | ((uint64_t)wait << MP_HOLD_PENDING_BIT);
}

static inline void mp_map_pending_set(mp_tls_t *t, bool on)
{
#if defined(__x86_64__)
	if (on)
		__asm__ volatile("btsq %1, %0" : "+m"(t->hold) : "J"(MP_HOLD_PENDING_BIT));
	else
		__asm__ volatile("btrq %1, %0" : "+m"(t->hold) : "J"(MP_HOLD_PENDING_BIT));
#else
	t->map_pending = on;
#endif
}

/* The owner brackets every rewrite of the pair with these. Begin: a consistent reading for a
 * dump that comes meanwhile (one that interrupted this very thread cannot wait for it), then
 * bseq odd. End: bseq even. A reader on another core sees the stores in this order (x86), so
 * compiler fences suffice. */
static inline void mp_bytes_begin(mp_tls_t *t)
{
	t->bytes_snap = t->n.alloc_bytes + (t->avail_set - t->avail);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&t->bseq, t->bseq + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void mp_bytes_end(mp_tls_t *t)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&t->bseq, t->bseq + 1, __ATOMIC_RELEASE);
}

/* The owner, outside the fast path: avail becomes v, with what the fast path counted since
 * the last set folded into n.alloc_bytes. */
static inline void mp_avail_set(mp_tls_t *t, uint64_t v)
{
	mp_bytes_begin(t);
	t->n.alloc_bytes += t->avail_set - t->avail;
	t->avail = v;
	t->avail_set = v;
	mp_bytes_end(t);
}

/* The most the fast path may allocate at once (avail's ceiling). Larger requests, the ones
 * that fail for ordinary reasons, always take the slow path, which sees the result; and a slow
 * path runs at least every MP_FAST_MAX bytes, where it looks for the ENOMEM a failure of
 * malloc's unchecked tail call left in errno (fallible.c). */
#define MP_FAST_MAX ((uint64_t)128 << 10)

/* The owner, outside the fast path: the next sample point is `left` bytes ahead. The fast path
 * gets at most MP_FAST_MAX of them in avail; when it runs out the slow path refills it from
 * reserve (sample_step, record.c) without a sample. */
static inline void mp_countdown_set(mp_tls_t *t, uint64_t left)
{
	uint64_t a = left < MP_FAST_MAX ? left : MP_FAST_MAX;
	t->reserve = left - a;
	mp_avail_set(t, a);
}

/* The owner, where its counts start again from zero (a new record, a fork child): what the
 * fast path counted so far is not theirs. */
static inline void mp_avail_forget(mp_tls_t *t)
{
	mp_bytes_begin(t);
	t->avail_set = t->avail;
	mp_bytes_end(t);
}

/* malloc and free are no cancellation points, but the profiler's read, write and open are
 * (libunwind's validation pipe, dump files, log lines): a thread with a cancel pending would be
 * cancelled inside malloc, holding its caller's locks and ours. Around them, cancellation is
 * off; a deferred request stays pending for the program's next cancellation point (with
 * asynchronous cancellation glibc acts on it when it is turned back on: no program may call
 * malloc that way). */
static inline int mp_nocancel(void)
{
	int old = PTHREAD_CANCEL_ENABLE;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	return old;
}

static inline void mp_cancel_restore(int old)
{
	int unused;
	pthread_setcancelstate(old, &unused);
}

/* MurmurHash3's 64-bit finalizer: the hash of the shim's tables (stacks, live objects, maps). */
static inline uint64_t mp_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* init.c */
MP_HIDDEN void mp_init(void);
MP_HIDDEN void mp_fault(const char *what);
MP_HIDDEN void mp_log(const char *msg);
/* A MAPPROF_* variable (env.c): secure_getenv, also before libc has set environ. */
MP_HIDDEN const char *mp_getenv(const char *name);
/* A MAPPROF_* variable read before libc set environ was too long to keep (env.c). */
MP_HIDDEN bool mp_env_lost(void);
/* The names of MAPPROF_* variables mapprof does not know (a misspelled one would be ignored
 * silently) into out: up to four, comma-separated, then how many more; returns how many. */
MP_HIDDEN size_t mp_env_unknown(char *out, size_t cap);
/* quiet.c: write(2) that raises no SIGPIPE or SIGXFSZ (EPIPE, EFBIG instead). */
MP_HIDDEN ssize_t mp_write_quiet(int fd, const void *p, size_t n);
MP_HIDDEN uint64_t mp_now_ns(void);	    /* CLOCK_REALTIME */
MP_HIDDEN uint64_t mp_mono_ns(void);	    /* CLOCK_MONOTONIC */
extern MP_HIDDEN uint64_t mp_start_ns;	    /* CLOCK_REALTIME at start (or fork) */
extern MP_HIDDEN uint64_t mp_start_mono_ns; /* CLOCK_MONOTONIC then: for how long it ran */
extern MP_HIDDEN int mp_forked_child;
extern MP_HIDDEN bool mp_final_dumped; /* the exit dump is written (init.c's destructor) */
/* The final dump cannot be written: the process ends (why: "exit", "_exit") in a signal handler
 * that interrupted the profiler, whose locks may be held. Says so once (init.c). */
MP_HIDDEN void mp_final_dump_skipped(const char *why);
#define MP_MAP_CALL_REALLOC UINTPTR_MAX
/* exec.c: fork child, before any other child handler. */
MP_HIDDEN void mp_exec_fork_child(void);
/* Whether this is a vfork child, running in its parent's memory until it execs or leaves: no
 * final dump of its own (exit() there runs its parent's exit handlers: exec.c). */
MP_HIDDEN bool mp_exec_vfork_child(void);
/* Set by a vfork child's exit(): this process's exit handlers are gone (exec.c). */
extern MP_HIDDEN bool mp_vfork_exited;

/* bootstrap.c: the static area that serves allocations while dlsym runs. */
MP_HIDDEN void *mp_bootstrap_alloc(size_t size, size_t align);
#define MP_BOOTSTRAP_SIZE (64u << 10)
extern MP_HIDDEN char mp_bootstrap_area[MP_BOOTSTRAP_SIZE];
/* On free's slow path, realloc and malloc_usable_size: one subtraction and one compare. */
static inline bool mp_bootstrap_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)mp_bootstrap_area < MP_BOOTSTRAP_SIZE;
}
MP_HIDDEN size_t mp_bootstrap_size(const void *p);
MP_HIDDEN size_t mp_bootstrap_used(void); /* bytes of the area handed out so far */

/* sample.c: the sampler (pure arithmetic). */
MP_HIDDEN uint64_t mp_sample_rng_seed(uint64_t base, uint64_t index);
MP_HIDDEN uint64_t mp_sample_rand(uint64_t *state);
MP_HIDDEN int64_t mp_sample_next(uint64_t *state, uint64_t rate);
MP_HIDDEN double mp_sample_weight(uint64_t size, uint64_t rate);

/* record.c: the slow paths behind hot.h. mp_record_alloc takes any state of the guard (held:
 * the profiler's own allocation, ignored); the others want it not held. */
MP_HIDDEN void mp_record_alloc(mp_tls_t *t, void *p, size_t size);
MP_HIDDEN void mp_record_free(mp_tls_t *t, void *p);
MP_HIDDEN uint32_t mp_record_take(mp_tls_t *t, void *p, uint64_t *size);
MP_HIDDEN void mp_record_realloc_undo(mp_tls_t *t, void *p, uint32_t bucket, uint64_t size);

/* filter.c: read-only-on-the-fast-path filter of pointers the shim tracks. */
/* cxx.c: the C++ runtime's symbol `name` after us (RTLD_NEXT), or in a libstdc++ or libc++
 * loaded RTLD_LOCAL; never self_fn. NULL when none. May allocate: call with the guard held. */
MP_HIDDEN void *mp_cxx_lookup(const char *name, const void *self_fn);
/* objects.c: readlink of /proc/self/exe, or of /proc/thread-self/exe when that fails (main()
 * left with pthread_exit: the leader is a zombie, its exe and cmdline read empty). */
MP_HIDDEN ssize_t mp_exe_link(char *buf, size_t n);
/* At start: where /proc cannot name the executable, what mp_exe_link falls back to. */
MP_HIDDEN void mp_exe_remember(void);
MP_HIDDEN bool mp_filter_init(void);
MP_HIDDEN void mp_filter_add(const void *p);
MP_HIDDEN void mp_filter_remove(const void *p);
MP_HIDDEN void mp_filter_add_map(const void *p);
MP_HIDDEN void mp_filter_remove_map(const void *p);
MP_HIDDEN void mp_filter_reset(void);
MP_HIDDEN void mp_filter_pin_bootstrap(const void *p);
extern MP_HIDDEN uint8_t *mp_filter_bits;
#define MP_FILTER_BITS	       20
#define MP_FILTER_SAMPLE_SHIFT 0 /* low nibble: sampled objects (table.c) */
#define MP_FILTER_MAP_SHIFT    4 /* high nibble: map bucket arrays (maps.c) */
/* The byte of p: direct-mapped by address bits 4..23 (blocks are 16-byte aligned). No hash:
 * neighbouring blocks get neighbouring bytes, and only blocks 16 MiB apart share one, which
 * is no worse than a hash for the few tracked pointers, and three instructions cheaper. */
static inline size_t mp_filter_slot(const void *p)
{
	return ((uintptr_t)p >> 4) & ((1u << MP_FILTER_BITS) - 1);
}
/* The byte for p: zero means p is certainly not tracked. */
static inline uint8_t mp_filter_get(const void *p)
{
	return __atomic_load_n(&mp_filter_bits[mp_filter_slot(p)], __ATOMIC_RELAXED);
}
/* Nonzero also for NULL and for blocks of the bootstrap area, which are pinned in the filter so
 * that free's fast path needs no test of its own for them (filter.c). */
static inline bool mp_filter_maybe(const void *p)
{
	return mp_filter_bits[mp_filter_slot(p)] != 0;
}

/* Whether a dump reads the allocator's own statistics (allocstats.c), which take the
 * allocator's locks: a signal handler may have interrupted the code that holds them. READ: on
 * a thread that runs no handler (the writer thread blocks every signal); CHECK: unless an
 * unwind finds a handler on the stack; SKIP: the _exit family, which handlers call (one with
 * no unwind information hid from the check). */
enum mp_dump_stats { MP_STATS_READ, MP_STATS_CHECK, MP_STATS_SKIP };
/* Time a dump: what triggered it. */
MP_HIDDEN int mp_dump_write(const char *why, enum mp_dump_stats stats);
/* The final dump: written once, whichever thread asks first (checked under the dump lock, so
 * a thread that waited for another's writes none); sets mp_final_dumped. */
MP_HIDDEN int mp_dump_write_final(const char *why, enum mp_dump_stats stats);

#endif
