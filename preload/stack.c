/* SPDX-License-Identifier: MIT */
/* Stack capture: libunwind's unw_backtrace (DWARF CFI, correct without frame pointers), or a
 * frame-pointer walk when MAPPROF_UNWIND=fp says the program keeps frame pointers (about ten
 * times cheaper; see the benchmark). Frames inside libmapprof.so are dropped by address range
 * rather than by a fixed count, so inlining changes in the shim cannot shift the stacks. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <gnu/libc-version.h>
#include <linux/futex.h>
#include <sys/resource.h>
#include <sys/ucontext.h>
#include <link.h>
#include <sched.h>
#include <sys/auxv.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "stack.h"
#include "thread.h"
#include "unwfd.h"

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

const struct link_map *mp_loaded_object(const void *addr)
{
	struct dl_find_object o;
	if (addr && _dl_find_object((void *)addr, &o) == 0)
		return o.dlfo_link_map;
	Dl_info info;
	struct link_map *lm = NULL;
	if (addr && dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP))
		return lm;
	return NULL;
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

/* Signal frames. Below a handler, a stack holds the signal trampoline (glibc's __restore_rt,
 * where the handler "returns"), then the frame the signal interrupted, whose pc is the exact
 * pc of the interrupted instruction, not a return address. A reader looks up pc - 1 (a return
 * address's call), which names the instruction before: another line, or another function when
 * the instruction is a function's first. So such a pc is stored as pc + 1 (mp_stack_trim), and
 * the trampoline's too: nothing calls it, and pc - 1 is the padding before it.
 * unw_backtrace says nothing of the signal frames it crossed, and asking libunwind about each
 * frame (unw_is_signal_frame) would take a cursor walk, seven times the cost; so the
 * trampoline is told by its code, as libunwind's unw_is_signal_frame tells it on x86_64:
 * `mov $15, %rax; syscall` (rt_sigreturn). Only glibc's is looked for: a pc in libc's code,
 * 16-byte aligned (glibc aligns __restore_rt so), which keeps the check to two comparisons per
 * frame and the reads inside libc's segment. tramp_lo, tramp_span: written once by
 * mp_stack_init (span 0: libc not found, no pc matches), read-only afterwards. */
static uintptr_t tramp_lo, tramp_span;
static const unsigned char rt_sigreturn_code[9] = {0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05};

static inline bool is_sigtramp(uintptr_t pc)
{
	if (mp_likely((pc & 15) != 0 || pc - tramp_lo >= tramp_span))
		return false;
	return memcmp((const void *)pc, rt_sigreturn_code, sizeof(rt_sigreturn_code)) == 0;
}

static void find_libc(void)
{
	uintptr_t lo, hi;
	if (mp_code_segment((uintptr_t)&gnu_get_libc_version, &lo, &hi) && hi - lo > 16) {
		tramp_lo = lo;
		tramp_span = hi - lo - 16; /* the code read stays inside the segment */
	}
}

/* Below this soft RLIMIT_NOFILE, libunwind's memory-check pipe (unwfd.c) would be too large a
 * share of the program's descriptors (with `ulimit -n 5`, cat could not open its file): stacks
 * are walked by frame pointers instead, and libunwind, which opens the pipe at its set-up, is
 * never touched. */
#define MIN_NOFILE 64

static void find_loader_code(void);

void mp_stack_init(void)
{
	mp_code_segment((uintptr_t)&mp_stack_init, &self_lo, &self_hi);
	find_libc();
	find_loader_code();
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
		mp_stack_trace_decide(&mp_tls);
		unw_backtrace(pcs, 4);
	}
}

#define in_self mp_stack_in_self

/* Threads alive with MP_TRACE_FAST (stack.h). Any thread, atomically. */
static uint32_t tracers;

void mp_stack_trace_decide(mp_tls_t *t)
{
	if (__atomic_add_fetch(&tracers, 1, __ATOMIC_RELAXED) <= MP_TRACE_THREADS) {
		t->trace = MP_TRACE_FAST;
		return;
	}
	__atomic_sub_fetch(&tracers, 1, __ATOMIC_RELAXED);
	t->trace = MP_TRACE_STEP;
}

void mp_stack_trace_release(mp_tls_t *t)
{
	/* Captures later in the exit (other destructors' samples) walk: libunwind's cache may be
	 * freed already (its destructor does not forget it). */
	if (t->trace == MP_TRACE_FAST)
		__atomic_sub_fetch(&tracers, 1, __ATOMIC_RELAXED);
	t->trace = MP_TRACE_STEP;
}

__attribute__((noinline)) int mp_stack_step_walk(uintptr_t *buf, int max)
{
	unw_context_t uc;
	unw_cursor_t c;
	int n = 0;
	if (unw_getcontext(&uc) != 0 || unw_init_local(&c, &uc) != 0)
		return 0;
	while (n < max && unw_step(&c) > 0) {
		unw_word_t ip;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) != 0 || ip == 0)
			break;
		buf[n++] = (uintptr_t)ip;
	}
	return n;
}

/* The frame-pointer walk: each frame is [saved rbp][return address]. Stops at the first
 * implausible frame pointer (not increasing, misaligned, or more than 8 MiB up the stack).
 * A handler's return address is the signal trampoline, and the kernel's frame follows it: the
 * interrupted pc and rbp are read from its ucontext (the rbp chain alone would skip the
 * interrupted function). */
/* Whether a kernel signal frame's ucontext is at p, right above a handler's frame that
 * returns to the trampoline. Not when the trampoline's address is a copy (a handler that
 * realigns its stack pushes one, and its saved rbp, below its locals): the kernel leaves
 * uc_link NULL, puts the saved FPU state just above the frame, and the interrupted stack
 * pointer above both (not on an alternate signal stack: that walk stops there instead). */
static bool sigframe_at(const void *p)
{
	const ucontext_t *uc = p;
	uintptr_t fpr = (uintptr_t)uc->uc_mcontext.fpregs;
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	return uc->uc_link == NULL && fpr > (uintptr_t)p && fpr - (uintptr_t)p < 4096 && sp > fpr;
}

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
		if (mp_unlikely(is_sigtramp(ret)) && sigframe_at(&fp[2])) {
			const ucontext_t *uc = (const ucontext_t *)&fp[2];
			uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
			if (n == max || pc == 0)
				break;
			buf[n++] = pc;
			next = (uintptr_t *)uc->uc_mcontext.gregs[REG_RBP];
		}
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

/* The dynamic loader's code (the object at AT_BASE): its executable segment, found by
 * mp_stack_init (read-only afterwards; empty when not found). */
static uintptr_t loader_lo, loader_hi;

static int find_loader(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct code_range *r = data;
	if (info->dlpi_addr != r->addr)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			r->lo = info->dlpi_addr + ph->p_vaddr;
			r->hi = r->lo + ph->p_memsz;
			return 1;
		}
	}
	return 1;
}

static void find_loader_code(void)
{
	struct code_range r = {(uintptr_t)getauxval(AT_BASE), 0, 0};
	if (r.addr && dl_iterate_phdr(find_loader, &r)) {
		loader_lo = r.lo;
		loader_hi = r.hi;
	}
}

static inline bool in_loader(uintptr_t ip)
{
	return ip >= loader_lo && ip < loader_hi;
}

/* The stack of an exit() that a destructor run by exit calls: the loader's code (_dl_fini, the
 * exit handler that runs the objects' destructors), and within the next few frames outward
 * glibc's own `exit`, whose __run_exit_handlers called it. Not the loader's code run by
 * dlopen (a constructor) or dlclose (a destructor): the process is not in its exit handlers. */
bool mp_stack_in_exit_destructor(uintptr_t exit_lo, uintptr_t exit_hi)
{
	if (loader_lo == loader_hi || exit_lo == exit_hi || mp_config.unwind_fp ||
	    !mp_unwfd_safe_quiet())
		return false;
	int cs = mp_nocancel();
	uint32_t *flag = capture_begin();
	unw_context_t uc;
	unw_cursor_t c;
	uintptr_t ip[512];
	int n = 0;
	if (unw_getcontext(&uc) == 0 && unw_init_local(&c, &uc) == 0) {
		do {
			unw_word_t w;
			if (unw_get_reg(&c, UNW_REG_IP, &w) != 0)
				break;
			ip[n++] = (uintptr_t)w;
		} while (n < 512 && unw_step(&c) > 0);
	}
	capture_end(flag);
	mp_cancel_restore(cs);
	for (int i = 0; i < n; i++) {
		if (!in_loader(ip[i]) || (i + 1 < n && in_loader(ip[i + 1])))
			continue; /* the outermost frame of a run of the loader's */
		for (int k = i + 1; k < n && k <= i + 3; k++)
			if (ip[k] - 1 >= exit_lo && ip[k] - 1 < exit_hi)
				return true;
	}
	return false;
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
	 * allocates, the shim's frames sit between the program's. A signal trampoline and the
	 * frame after it (exact pcs, see is_sigtramp) get pc + 1; the leading frames skipped are
	 * the shim's, never a trampoline. One comparison per frame: only a pc in libc, or any pc
	 * after a trampoline (lo 0, span all), takes the slow path. */
	int k = 0;
	uintptr_t lo = tramp_lo, span = tramp_span;
	for (int i = skip; i < n && k < max; i++) {
		uintptr_t pc = buf[i];
		if (mp_unlikely(pc - lo < span)) {
			bool tramp = is_sigtramp(pc);
			pc += tramp || lo == 0;	   /* lo 0: the frame after a trampoline */
			lo = tramp ? 0 : tramp_lo; /* a trampoline after one: a handler's return */
			span = tramp ? UINTPTR_MAX : tramp_span;
		}
		if (!in_self(pc))
			out[k++] = pc;
	}
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
	/* The child's one thread: its cache, if it had one, is all there is now. */
	tracers = mp_tls.trace == MP_TRACE_FAST;
	__atomic_store_n(&forking, 0, __ATOMIC_RELEASE);
	anon_capturing = 0;
}
