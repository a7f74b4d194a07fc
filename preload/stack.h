/* SPDX-License-Identifier: MIT */
/* Call-stack capture for sampled allocations and map events. */
#ifndef MP_PRELOAD_STACK_H
#define MP_PRELOAD_STACK_H
#include <stdint.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "mp.h"
#include "unwfd.h"

/* Finds the shim's own code range (frames inside it are dropped) and sets libunwind's
 * per-thread cache. Called once by init. */
MP_HIDDEN void mp_stack_init(void);
/* The loaded object holding addr (its link map: one per object), or NULL. _dl_find_object, not
 * dladdr: dladdr also looks for the nearest symbol, through every one of the object's (9 us
 * for one of libc's here), and start-up asks a dozen times. */
MP_HIDDEN const struct link_map *mp_loaded_object(const void *addr);
/* The executable segment of the loaded object holding addr (dl_iterate_phdr); false if none. */
MP_HIDDEN bool mp_code_segment(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
/* The parts of a capture (stack.c): the fork flag around libunwind, the frame-pointer walk,
 * and dropping the shim's own frames. */
/* Guard held, no lock of ours held (it waits for a fork in progress): whether a signal handler
 * may be on this thread's stack (a frame of the kernel's signal return, found by unwinding;
 * true when libunwind may not run): the code it interrupted may hold the allocator's locks. */
MP_HIDDEN bool mp_stack_in_handler(void);
/* Guard held, no lock of ours held: whether this thread runs a destructor that the loader
 * runs from glibc's exit handlers ([exit_lo, exit_hi): glibc's exit), by unwinding; false when
 * libunwind may not run. */
MP_HIDDEN bool mp_stack_in_exit_destructor(uintptr_t exit_lo, uintptr_t exit_hi);
/* altstack.c: bytes left below the caller's frame when this thread runs on its alternate signal
 * stack (a handler's: often 8 KiB, of which the kernel's signal frame takes 3.6 on a CPU with
 * AVX-512), else SIZE_MAX. cheap: no system call, so a stack registered other than through
 * libc's sigaltstack goes unseen (for paths that run often); else one when the stack pointer
 * is outside the stack the thread registered. */
MP_HIDDEN size_t mp_stack_alt_room(bool cheap);
/* What an unwind by libunwind may take below its caller's frame: its cursor and DWARF state,
 * dl_iterate_phdr, the loader (measured: about 5 KiB), with a margin. */
#define MP_UNWIND_ROOM (8u << 10)
MP_HIDDEN uint32_t *mp_stack_capture_begin(void);
MP_HIDDEN void mp_stack_capture_end(uint32_t *flag);
MP_HIDDEN int mp_stack_fp_walk(uintptr_t *buf, int max);
/* libunwind's unw_backtrace keeps a cache of 2^14 frames per thread (256 KiB, all written, kept
 * until the thread exits): a thousand threads that each captured a stack held 280 MB more
 * (black-box QA). Only this many threads alive at once get it; the others walk a cursor
 * (unw_step: slower, but the stack cache spares repeated stacks the walk). */
#define MP_TRACE_THREADS 16
enum { MP_TRACE_UNDECIDED, MP_TRACE_FAST, MP_TRACE_STEP };
/* Guard held: decides t->trace (on t's first capture). */
MP_HIDDEN void mp_stack_trace_decide(mp_tls_t *t);
/* The cursor walk: as unw_backtrace, from its own frame (a shim frame, dropped). */
MP_HIDDEN int mp_stack_step_walk(uintptr_t *buf, int max);
/* Guard held, thread exiting: its cache goes (libunwind frees it), and its place with it. */
MP_HIDDEN void mp_stack_trace_release(mp_tls_t *t);
MP_HIDDEN int mp_stack_trim(const uintptr_t *buf, int n, uintptr_t *out, int max);
/* The first frame outside the shim, from the shim's own frame pointers only: the stack when
 * libunwind may not run (unwfd.h). */
MP_HIDDEN int mp_stack_first_frame(uintptr_t *out);

#define MP_STACK_SLACK 16 /* shim frames above the first user frame, at most */

/* The shim's own code (frames there are dropped); written once by mp_stack_init. */
extern MP_HIDDEN uintptr_t mp_self_lo, mp_self_hi;
static inline bool mp_stack_in_self(uintptr_t pc)
{
	return pc >= mp_self_lo && pc < mp_self_hi;
}

/* stackcache.c: guard held, no lock of ours held. The interned id of the calling program's
 * stack (MP_NO_STACK on failure): from the thread's cache of validated stacks when the frames
 * are provably the same as at an earlier capture, else captured and interned. */
MP_HIDDEN uint32_t mp_stack_id(mp_tls_t *t);
/* The same, captured up to `depth` frames (1..MP_MAX_DEPTH) instead of MAPPROF_DEPTH. */
MP_HIDDEN uint32_t mp_stack_id_depth(mp_tls_t *t, unsigned depth);
struct mp_stack_cache;
MP_HIDDEN void mp_stack_cache_forget(struct mp_stack_cache *c);
MP_HIDDEN void mp_stack_cache_fork_child(void);
MP_HIDDEN void mp_stack_cache_forget_all(void); /* any thread: every entry is stale */
/* Guard held. Whether [a, a + len) lies in the calling thread's own stack above the caller's
 * frame (live frames: mapped memory, read safely), by the bounds the stack cache keeps, read
 * here if need be (running on another stack: false), whatever the cache's setting. */
MP_HIDDEN bool mp_stack_live_frames(mp_tls_t *t, uintptr_t a, size_t len);
/* stackbounds.c: the calling thread's own stack mapping (no lock, no allocation); false when
 * the current stack is not it (a coroutine, a sigaltstack) or it cannot be read. *fixed: the
 * thread's stack cannot grow below lo (every thread but the main one). */
MP_HIDDEN bool mp_stack_bounds(uintptr_t *lo, uintptr_t *hi, bool *fixed);
/* The mapping of /proc/self/maps that holds both a and b: its range, and its path (n bytes at
 * most, NUL-terminated; path may be NULL). Raw system calls, a 512-byte stack buffer. */
MP_HIDDEN bool mp_proc_maps_find(uintptr_t a, uintptr_t b, uintptr_t *lo, uintptr_t *hi, char *path,
				 size_t n);

/* Fills out[0..] with up to max return addresses (a signal trampoline's pc and the
 * interrupted pc below it are exact pcs, stored + 1: stack.c), innermost first, starting at
 * the first frame outside the shim; out has room for max + MP_STACK_SLACK (the shim's frames are
 * walked into it, then dropped). Guard held; takes no lock of ours; returns the count (0 on
 * failure). *cut: the stack is only its first frame, because libunwind could not run (unwfd.h).
 * Always inlined: libunwind then starts in the caller's frame, and every shim frame it does
 * not have to walk saves about 65 instructions per capture. */
static inline __attribute__((always_inline)) int mp_stack_capture(uintptr_t *out, int max,
								  bool *cut)
{
	int want = max + MP_STACK_SLACK;
	int n;
	*cut = false;
	if (mp_config.unwind_fp) {
		n = mp_stack_fp_walk(out, want); /* no loader calls: no fork hazard */
	} else if (mp_unlikely(!mp_unwfd_safe())) {
		*cut = true;
		return mp_stack_first_frame(out);
	} else {
		int cs = mp_nocancel();
		uint32_t *flag = mp_stack_capture_begin();
		mp_tls_t *t = &mp_tls;
		if (mp_unlikely(t->trace == MP_TRACE_UNDECIDED))
			mp_stack_trace_decide(t);
		if (mp_likely(t->trace == MP_TRACE_FAST))
			n = unw_backtrace((void **)out, want);
		else
			n = mp_stack_step_walk(out, want);
		mp_stack_capture_end(flag);
		mp_cancel_restore(cs);
	}
	return mp_stack_trim(out, n, out, max); /* in place: it copies downwards */
}
/* fork: prepare waits for captures in flight and holds new ones back (a flag per thread, no
 * lock on the capture path); parent/child release. */
MP_HIDDEN void mp_stack_fork_prepare(void);
MP_HIDDEN void mp_stack_fork_parent(void);
MP_HIDDEN void mp_stack_fork_child(void);
#endif
