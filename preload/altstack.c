/* SPDX-License-Identifier: MIT */
/* Room left on a thread's alternate signal stack (stack.h, mp_stack_alt_room), where a handler
 * may run the profiler: a dump, an unwind. The kernel reports SS_ONSTACK while a handler runs
 * there, but a stack registered with SS_AUTODISARM reads as disabled inside its handler: so
 * sigaltstack is interposed, and each thread's registered stack is kept, to be found by the
 * stack pointer. That also spares the system call on the paths that run often (a sampled
 * allocation off the thread's own stack: coroutines) for threads that registered none. */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "stack.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* linux/signal.h */
#endif

static __thread struct {
	uintptr_t lo, hi; /* the stack registered last, while `set` */
	bool set;
} alt __attribute__((tls_model("initial-exec")));

/* glibc's is the system call itself (the kernel checks the flags and the size). */
MP_EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
	int rc = (int)syscall(SYS_sigaltstack, ss, old);
	if (rc == 0 && ss) {
		alt.set = !(ss->ss_flags & SS_DISABLE);
		alt.lo = (uintptr_t)ss->ss_sp;
		alt.hi = alt.lo + ss->ss_size;
	}
	return rc;
}

size_t mp_stack_alt_room(bool cheap)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (alt.set && sp >= alt.lo && sp < alt.hi)
		return sp - alt.lo;
	if (cheap)
		return SIZE_MAX; /* one registered past libc (a raw system call) goes unseen here */
	stack_t ss;
	int e = errno;
	bool on = syscall(SYS_sigaltstack, NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
	errno = e;
	if (!on)
		return SIZE_MAX;
	uintptr_t lo = (uintptr_t)ss.ss_sp;
	return sp > lo ? sp - lo : 0;
}
