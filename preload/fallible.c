/* SPDX-License-Identifier: MIT */
/* Allocations that may fail. malloc's fast path (fast.c) counts the call before it is made and
 * hands it on by a tail call, so it never sees a NULL: while allocations succeed that is about
 * 1 ns a call cheaper than waiting for the result. Once they may fail, it sends the call
 * through mp_malloc_checked instead, which sees the result and takes a failure back out of
 * the counts. "May fail" starts, for good, at the first failed allocation call of any kind
 * (one that tried: a size beyond PTRDIFF_MAX is refused without trying), or when the process
 * has or sets a finite address-space or data limit (RLIMIT_AS, RLIMIT_DATA). A process whose
 * small allocations start failing with no limit set, on a system out of memory, may count at
 * most one fast-path budget (MP_FAST_MAX bytes, mp.h) of failed calls per thread before the
 * first failure reaches a slow path. Requests of MP_FAST_MAX bytes or more always take the
 * slow path, which counts only what succeeded. */
#include <dlfcn.h>
#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>
#include "mp.h"
#include "hot.h"

/* Read by malloc's fast path on every call (one load, no write); starts checked, so that
 * nothing depends on init having run, and init makes it the real malloc unless a limit is
 * set. Written with relaxed atomic stores; a thread that still reads the old value only
 * makes one more unchecked call. */
void *(*mp_malloc_next)(size_t) = mp_malloc_checked;

void mp_alloc_may_fail(void)
{
	if (__atomic_load_n(&mp_malloc_next, __ATOMIC_RELAXED) != mp_malloc_checked)
		__atomic_store_n(&mp_malloc_next, mp_malloc_checked, __ATOMIC_RELAXED);
}

/* The fast path counted this call (mp_fast_alloc): a failure did not allocate after all. */
void *mp_malloc_checked(size_t size)
{
	void *p = mp_real.malloc(size);
	if (mp_unlikely(p == NULL))
		mp_fast_alloc_undo(size);
	return p;
}

static bool limited(int resource)
{
	struct rlimit r;
	return getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY;
}

void mp_fallible_init(void)
{
	if (!limited(RLIMIT_AS) && !limited(RLIMIT_DATA))
		__atomic_store_n(&mp_malloc_next, mp_real.malloc, __ATOMIC_RELAXED);
}

/* A limit set from inside the process: checked from here on (whether or not the call
 * succeeds: a limit that did not change costs only the check). A limit set from outside with
 * prlimit(1) is seen at the first failure. */
static void limit_set(int resource, const void *rl)
{
	/* glibc declares the pointer nonnull; a program may still pass NULL (EFAULT), so the
	 * compiler must not assume it. */
	const struct rlimit *r = rl;
	__asm__("" : "+r"(r));
	if (r && r->rlim_cur != RLIM_INFINITY && (resource == RLIMIT_AS || resource == RLIMIT_DATA))
		mp_alloc_may_fail();
}

/* dlsym may allocate: not the program's allocation. */
static void *next_sym(const char *name)
{
	mp_tls.guard++;
	void *f = dlsym(RTLD_NEXT, name);
	mp_tls.guard--;
	return f;
}

/* glibc declares the resource as an enum for C, and the 64 variants with struct rlimit64 (the
 * same layout as struct rlimit on 64-bit targets, which limit_set reads). */
#define SETRLIMIT(name, rl)                                                                        \
	MP_EXPORT int name(__rlimit_resource_t resource, const struct rl *r)                       \
	{                                                                                          \
		static int (*next)(__rlimit_resource_t, const struct rl *);                        \
		if (!next)                                                                         \
			next = (int (*)(__rlimit_resource_t, const struct rl *))next_sym(#name);   \
		limit_set((int)resource, r);                                                       \
		return next ? next(resource, r) : (errno = ENOSYS, -1);                            \
	}
#define PRLIMIT(name, rl)                                                                          \
	MP_EXPORT int name(pid_t pid, __rlimit_resource_t resource, const struct rl *r,            \
			   struct rl *old)                                                         \
	{                                                                                          \
		static int (*next)(pid_t, __rlimit_resource_t, const struct rl *, struct rl *);    \
		if (!next)                                                                         \
			next = (int (*)(pid_t, __rlimit_resource_t, const struct rl *,             \
					struct rl *))next_sym(#name);                              \
		if (pid == 0 || pid == getpid())                                                   \
			limit_set((int)resource, r);                                               \
		return next ? next(pid, resource, r, old) : (errno = ENOSYS, -1);                  \
	}
SETRLIMIT(setrlimit, rlimit)
SETRLIMIT(setrlimit64, rlimit64)
PRLIMIT(prlimit, rlimit)
PRLIMIT(prlimit64, rlimit64)
