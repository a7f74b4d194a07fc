/* SPDX-License-Identifier: MIT */
/* Stack capture: libunwind's unw_backtrace (DWARF CFI, correct without frame pointers), or a
 * frame-pointer walk when MAPPROF_UNWIND=fp says the program keeps frame pointers (about ten
 * times cheaper; see the benchmark). Frames inside libmapprof.so are dropped by address range
 * rather than by a fixed count, so inlining changes in the shim cannot shift the stacks. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include "stack.h"

#define MP_MAX_DEPTH_ALL 256
#define SKIP_SLACK 16 /* shim frames above the first user frame, at most */

/* fork_lock keeps fork out of stack capture: libunwind may be inside dl_iterate_phdr, whose
 * loader lock glibc does not reset in a fork child, so a child forked mid-capture would hang
 * in its first capture or dump. Captures read-lock it; the fork prepare handler write-locks
 * it (writers preferred, so a stream of samples cannot starve a fork). */
static pthread_rwlock_t fork_lock;

/* Our own executable segment; written once by mp_stack_init, read-only afterwards. */
static uintptr_t self_lo, self_hi;

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t me = (uintptr_t)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		uintptr_t hi = lo + ph->p_memsz;
		if (me >= lo && me < hi) {
			self_lo = lo;
			self_hi = hi;
			return 1;
		}
	}
	return 0;
}

void mp_stack_init(void)
{
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fork_lock, &a);
	pthread_rwlockattr_destroy(&a);
	dl_iterate_phdr(find_self, (void *)(uintptr_t)&mp_stack_init);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

static inline bool in_self(uintptr_t pc)
{
	return pc >= self_lo && pc < self_hi;
}

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

int mp_stack_capture(uintptr_t *out, int max)
{
	uintptr_t buf[MP_MAX_DEPTH_ALL + SKIP_SLACK];
	int want = max + SKIP_SLACK;
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = sizeof(buf) / sizeof(buf[0]);
	int n;
	if (mp_config.unwind_fp) {
		n = fp_walk(buf, want); /* no loader calls: no fork hazard */
	} else {
		pthread_rwlock_rdlock(&fork_lock);
		n = unw_backtrace((void **)buf, want);
		pthread_rwlock_unlock(&fork_lock);
	}
	if (n <= 0)
		return 0;
	int skip = 0;
	while (skip < n && (in_self(buf[skip]) || buf[skip] == 0))
		skip++;
	int k = 0;
	for (int i = skip; i < n && k < max; i++)
		out[k++] = buf[i];
	return k;
}

void mp_stack_fork_prepare(void)
{
	pthread_rwlock_wrlock(&fork_lock);
}

void mp_stack_fork_parent(void)
{
	pthread_rwlock_unlock(&fork_lock);
}

/* The child is single-threaded: a fresh lock (unlocking the parent's write lock from the
 * child is not allowed for rwlocks). */
void mp_stack_fork_child(void)
{
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fork_lock, &a);
	pthread_rwlockattr_destroy(&a);
}
