/* SPDX-License-Identifier: MIT */
/* Allocations that may fail. malloc's fast path (fast.c) counts the call before it is made and
 * hands it on by a tail call, so it never sees a NULL: while allocations succeed that is about
 * 1 ns a call cheaper than waiting for the result. Once they may fail, it sends the call
 * through mp_malloc_checked instead, which sees the result and takes a failure back out of
 * the counts. "May fail" starts, for good:
 * - at init, when the process has a finite address-space or data limit (RLIMIT_AS,
 *   RLIMIT_DATA) or the system commits memory strictly (vm.overcommit_memory = 2);
 * - when the program sets such a limit (setrlimit, prlimit) or locks its future memory
 *   (mlockall with MCL_FUTURE, bounded by RLIMIT_MEMLOCK);
 * - at the first failed allocation call a slow path sees (one that tried: a size beyond
 *   PTRDIFF_MAX is refused without trying), and at the first slow-path allocation that finds
 *   errno at ENOMEM (mp_record_alloc), which a failure on the fast path left there.
 * Requests of MP_FAST_MAX bytes or more always take the slow path, so the fast path's budget
 * runs out, and a slow path looks at errno, at the latest every MP_FAST_MAX bytes. What can
 * still be counted: small failed requests under a limit the shim cannot see (set from outside
 * with prlimit(1) or by a raw system call, strict overcommit turned on after the start), until
 * then, and longer if the program clears errno after each failure. An ENOMEM left by anything
 * (a refused impossible request, a failed mmap of the program's) switches too: that costs
 * only the checked call, about 1 ns. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mp.h"
#include "hot.h"
#include "trigger.h"

/* Read by malloc's fast path on every call (one load, no write); starts checked, so that
 * nothing depends on init having run, and init makes it the real malloc unless allocations
 * may fail. Written with atomic stores, read plainly: a thread that still reads the old value
 * only makes one more unchecked call. */
void *(*mp_malloc_next)(size_t) = mp_malloc_checked;

/* Set before mp_malloc_next turns checked, so that init, which may run while another thread
 * already saw a failure, does not turn it back. */
static bool may_fail;

void mp_alloc_may_fail(void)
{
	if (__atomic_load_n(&may_fail, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&may_fail, true, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mp_malloc_next, mp_malloc_checked, __ATOMIC_SEQ_CST);
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

/* vm.overcommit_memory = 2: every mapping is charged against a commit limit, and a small
 * allocation that grows the heap fails when it is reached. Read without stdio (init). */
static bool strict_overcommit(void)
{
	char c = 0;
	int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, &c, 1);
	close(fd);
	return n == 1 && c == '2';
}

void mp_fallible_init(void)
{
	if (limited(RLIMIT_AS) || limited(RLIMIT_DATA) || strict_overcommit())
		return; /* stays checked */
	__atomic_store_n(&mp_malloc_next, mp_real.malloc, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&may_fail, __ATOMIC_SEQ_CST))
		__atomic_store_n(&mp_malloc_next, mp_malloc_checked, __ATOMIC_SEQ_CST);
}

/* dlsym may allocate: not the program's allocation. */
static void *next_sym(const char *name)
{
	mp_tls.guard++;
	void *f = dlsym(RTLD_NEXT, name);
	mp_tls.guard--;
	return f;
}

/* After a successful call that set `resource` of this process to `cur` (the kernel read the
 * program's struct, so it is readable). */
static void limit_set(int resource, rlim_t cur)
{
	if ((resource == RLIMIT_AS || resource == RLIMIT_DATA) && cur != RLIM_INFINITY)
		mp_alloc_may_fail();
	if (resource == RLIMIT_NPROC)
		mp_trigger_scarce(); /* it checks the limit itself */
}

/* prlimit's pid names this process: 0, the process, or one of its threads (limits are the
 * process's). tgkill with signal 0 only checks that the thread is in our group. */
static bool is_self(pid_t pid)
{
	return pid == 0 || pid == getpid() || syscall(SYS_tgkill, getpid(), pid, 0) == 0;
}

/* glibc declares the resource as an enum for C, and the 64 variants with struct rlimit64.
 * errno is the real call's. */
#define SETRLIMIT(name, rl)                                                                        \
	MP_EXPORT int name(__rlimit_resource_t resource, const struct rl *r)                       \
	{                                                                                          \
		static int (*next)(__rlimit_resource_t, const struct rl *);                        \
		if (!next)                                                                         \
			next = (int (*)(__rlimit_resource_t, const struct rl *))next_sym(#name);   \
		if (!next) {                                                                       \
			errno = ENOSYS;                                                            \
			return -1;                                                                 \
		}                                                                                  \
		int rc = next(resource, r);                                                        \
		if (rc == 0)                                                                       \
			limit_set((int)resource, r->rlim_cur);                                     \
		return rc;                                                                         \
	}
#define PRLIMIT(name, rl)                                                                          \
	MP_EXPORT int name(pid_t pid, __rlimit_resource_t resource, const struct rl *r,            \
			   struct rl *old)                                                         \
	{                                                                                          \
		static int (*next)(pid_t, __rlimit_resource_t, const struct rl *, struct rl *);    \
		if (!next)                                                                         \
			next = (int (*)(pid_t, __rlimit_resource_t, const struct rl *,             \
					struct rl *))next_sym(#name);                              \
		if (!next) {                                                                       \
			errno = ENOSYS;                                                            \
			return -1;                                                                 \
		}                                                                                  \
		int rc = next(pid, resource, r, old);                                              \
		if (rc == 0 && r) {                                                                \
			int saved = errno;                                                         \
			if (is_self(pid))                                                          \
				limit_set((int)resource, r->rlim_cur);                             \
			errno = saved;                                                             \
		}                                                                                  \
		return rc;                                                                         \
	}
SETRLIMIT(setrlimit, rlimit)
SETRLIMIT(setrlimit64, rlimit64)
PRLIMIT(prlimit, rlimit)
PRLIMIT(prlimit64, rlimit64)

/* Memory locked from now on counts against RLIMIT_MEMLOCK (without CAP_IPC_LOCK): heap growth
 * fails there. Checked from here on, whether or not the call succeeds. */
MP_EXPORT int mlockall(int flags)
{
	static int (*next)(int);
	if (!next)
		next = (int (*)(int))next_sym("mlockall");
	if (flags & MCL_FUTURE)
		mp_alloc_may_fail();
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(flags);
}
