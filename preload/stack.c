/* SPDX-License-Identifier: MIT */
/* Stack capture: libunwind's unw_backtrace (DWARF CFI, correct without frame pointers), or a
 * frame-pointer walk when MAPPROF_UNWIND=fp says the program keeps frame pointers (about ten
 * times cheaper; see the benchmark). Frames inside libmapprof.so are dropped by address range
 * rather than by a fixed count, so inlining changes in the shim cannot shift the stacks. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <linux/futex.h>
#include <sys/resource.h>
#include <link.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "stack.h"
#include "thread.h"

/* Keeping fork out of stack capture: libunwind may be inside dl_iterate_phdr, whose loader
 * lock glibc does not reset in a fork child, so a child forked mid-capture would hang in its
 * first capture or dump. A read-write lock did this before, but its read side writes one shared
 * cache line on every capture. Now each capture raises a flag in the thread's own record
 * (mp_thread_t.capturing, or the shared anon_capturing count for a thread without a record),
 * and the fork prepare handler raises `forking` (a count: two threads may fork at once) then
 * waits until no flag is up. Dekker's
 * pattern: both sides store their own flag, then read the other's, all seq_cst, so at least one
 * sees the other; a capture that sees `forking` lowers its flag and sleeps on it (a futex, woken
 * by the parent handler; the child has no other thread) before trying again.
 * forking: written by the fork handlers, read by captures. anon_capturing: atomic, any thread. */
static uint32_t forking;
static uint32_t anon_capturing;

static void wait_fork(void)
{
	uint32_t v;
	while ((v = __atomic_load_n(&forking, __ATOMIC_ACQUIRE)) != 0)
		syscall(SYS_futex, &forking, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

/* Lowers the flag raised by capture_begin: a plain release store for the thread's own flag. */
static inline void capture_end(uint32_t *flag)
{
	if (mp_likely(flag != &anon_capturing))
		__atomic_store_n(flag, 0, __ATOMIC_RELEASE);
	else
		__atomic_fetch_sub(flag, 1, __ATOMIC_RELEASE);
}

/* Guard held. Returns the flag raised, to pass to capture_end. */
static inline uint32_t *capture_begin(void)
{
	mp_thread_t *r = mp_tls.rec;
	for (;;) {
		uint32_t *flag;
		if (mp_likely(r != NULL)) {
			flag = &r->capturing;
			__atomic_exchange_n(flag, 1, __ATOMIC_SEQ_CST);
		} else {
			flag = &anon_capturing;
			__atomic_fetch_add(flag, 1, __ATOMIC_SEQ_CST);
		}
		if (mp_likely(!__atomic_load_n(&forking, __ATOMIC_SEQ_CST)))
			return flag;
		capture_end(flag);
		wait_fork();
	}
}

/* Our own executable segment; written once by mp_stack_init, read-only afterwards. */
uintptr_t mp_self_lo, mp_self_hi;
#define self_lo mp_self_lo
#define self_hi mp_self_hi

struct code_range {
	uintptr_t addr, lo, hi;
};

static int find_code(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct code_range *r = data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		uintptr_t hi = lo + ph->p_memsz;
		if (r->addr >= lo && r->addr < hi) {
			r->lo = lo;
			r->hi = hi;
			return 1;
		}
	}
	return 0;
}

bool mp_code_segment(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	struct code_range r = {addr, 0, 0};
	if (!dl_iterate_phdr(find_code, &r))
		return false;
	*lo = r.lo;
	*hi = r.hi;
	return true;
}

/* Below this soft RLIMIT_NOFILE, libunwind's memory-check pipe (unwfd.c) would be too large a
 * share of the program's descriptors (with `ulimit -n 5`, cat could not open its file): stacks
 * are walked by frame pointers instead, and libunwind, which opens the pipe at its set-up, is
 * never touched. */
#define MIN_NOFILE 64

void mp_stack_init(void)
{
	mp_code_segment((uintptr_t)&mp_stack_init, &self_lo, &self_hi);
	mp_unwfd_init();
	struct rlimit rl;
	if (!mp_config.unwind_fp && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < MIN_NOFILE) {
		mp_config.unwind_fp = true;
		mp_log("RLIMIT_NOFILE is below 64: stacks are walked by frame pointers (libunwind "
		       "would take two of the program's descriptors)");
	}
	if (!mp_config.unwind_fp) {
		unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
		/* One walk now, on this thread's stack: libunwind's first one sets up its
		 * per-thread cache key (pthread_once) through lazily bound calls into the loader,
		 * which take more stack than a small thread stack has left (they crashed threads
		 * of 16 KiB whose first sample came first). */
		void *pcs[4];
		unw_backtrace(pcs, 4);
	}
}

#define in_self mp_stack_in_self

/* The frame-pointer walk: each frame is [saved rbp][return address]. Stops at the first
 * implausible frame pointer (not increasing, misaligned, or more than 8 MiB up the stack). */
__attribute__((noinline)) static int fp_walk(uintptr_t *buf, int max)
{
	uintptr_t *fp = __builtin_frame_address(0);
	int n = 0;
	while (n < max && fp) {
		uintptr_t ret = fp[1];
		if (ret == 0)
			break;
		buf[n++] = ret;
		uintptr_t *next = (uintptr_t *)fp[0];
		if (next <= fp || ((uintptr_t)next & 7) ||
		    (uintptr_t)next - (uintptr_t)fp > (8u << 20))
			break;
		fp = next;
	}
	return n;
}

/* Only the shim's frames are walked (it is built with frame pointers); the program's may have
 * none. */
__attribute__((noinline)) int mp_stack_first_frame(uintptr_t *out)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	for (int k = 0; k < MP_STACK_SLACK && fp; k++) {
		if (!in_self(fp[1])) {
			out[0] = fp[1];
			return 1;
		}
		const uintptr_t *next = (const uintptr_t *)fp[0];
		if (next <= fp || (uintptr_t)next - (uintptr_t)fp > (1u << 20))
			break;
		fp = next;
	}
	return 0;
}

bool mp_stack_in_handler(void)
{
	/* Without libunwind (frame pointers: MAPPROF_UNWIND=fp, a low RLIMIT_NOFILE; or its pipe's
	 * numbers are the program's now) this cannot be told: taken as in a handler. */
	if (mp_config.unwind_fp || !mp_unwfd_safe_quiet())
		return true;
	int cs = mp_nocancel();
	uint32_t *flag = capture_begin();
	unw_context_t uc;
	unw_cursor_t c;
	bool in = false;
	if (unw_getcontext(&uc) == 0 && unw_init_local(&c, &uc) == 0) {
		for (int i = 0; i < 4096 && !in; i++) {
			in = unw_is_signal_frame(&c) > 0;
			if (unw_step(&c) <= 0)
				break;
		}
	}
	capture_end(flag);
	mp_cancel_restore(cs);
	return in;
}

uint32_t *mp_stack_capture_begin(void)
{
	return capture_begin();
}

void mp_stack_capture_end(uint32_t *flag)
{
	capture_end(flag);
}

int mp_stack_fp_walk(uintptr_t *buf, int max)
{
	return fp_walk(buf, max);
}

int mp_stack_trim(const uintptr_t *buf, int n, uintptr_t *out, int max)
{
	if (n <= 0)
		return 0;
	int skip = 0;
	while (skip < n && (in_self(buf[skip]) || buf[skip] == 0))
		skip++;
	/* Further in, too: where the shim runs the program's code (a new-handler, an exit
	 * handler) or a runtime's (the exception a failing operator new throws), and that code
	 * allocates, the shim's frames sit between the program's. */
	int k = 0;
	for (int i = skip; i < n && k < max; i++)
		if (!in_self(buf[i]))
			out[k++] = buf[i];
	return k;
}

/* Guard held; before any other fork lock (a capture holds none of ours, and the registry lock
 * taken by the wait is never held across a capture). */
void mp_stack_fork_prepare(void)
{
	__atomic_fetch_add(&forking, 1, __ATOMIC_SEQ_CST);
	mp_thread_wait_captures();
	while (__atomic_load_n(&anon_capturing, __ATOMIC_SEQ_CST))
		sched_yield();
}

void mp_stack_fork_parent(void)
{
	if (__atomic_sub_fetch(&forking, 1, __ATOMIC_RELEASE) == 0)
		syscall(SYS_futex, &forking, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* The child is single-threaded: no capture is in flight (prepare waited for them all). */
void mp_stack_fork_child(void)
{
	mp_stack_cache_fork_child();
	__atomic_store_n(&forking, 0, __ATOMIC_RELEASE);
	anon_capturing = 0;
}
