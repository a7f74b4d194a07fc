/* SPDX-License-Identifier: MIT */
/* Keeping libunwind's memory-validation pipe out of the program's file descriptors.
 *
 * libunwind (x86_64, 1.6) checks that a stack word is readable before it loads it by writing
 * the word to a pipe of its own; it opens that pipe at its first unwind and, whenever a read
 * from it fails, closes both ends and opens a new one. It keeps the two numbers in a static.
 * A program that closes every descriptor from 3 up (daemons do) and then opens its own files
 * gets them at those numbers, and libunwind then reads the program's input and writes stack
 * bytes into its output (or closes them at the input's EOF).
 *
 * Three defences. pipe2 is interposed: a pipe libunwind opens is moved up to a high, rarely
 * used descriptor, so a program opening files after closing everything does not get those
 * numbers. The close family (close, close_range, closefrom, dup2, dup3) is interposed to note
 * when the program may have closed or replaced them: from then on, until libunwind has its own
 * pipe there again, mp_unwfd_safe() checks before each unwind that both numbers are that pipe
 * or closed (libunwind then opens a new one, through pipe2 again); if the program has a file
 * of its own there, the capture does not call libunwind at all. And a raw close syscall,
 * which nothing sees, is caught by the same check made every CHECK_EVERY unwinds of a thread
 * anyway. The check is two fstat calls, about 0.4 us: before every unwind only while something
 * is suspect; otherwise the cost is a thread-local countdown. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fdgate.h"
#include "mp.h"
#include "stack.h"
#include "unwfd.h"

#define CHECK_EVERY 256 /* unwinds of a thread between checks while nothing is suspect */

/* libunwind's code range (its pipe2 calls come from there) and the next functions: written once
 * by mp_unwfd_init, before any unwind. Before that the raw syscalls stand in. */
static uintptr_t unw_lo, unw_hi;
static int (*next_pipe2)(int[2], int);
static int (*next_close)(int);
static int (*next_close_range)(unsigned, unsigned, int);
static void (*next_closefrom)(int);
static int (*next_dup2)(int, int);
static int (*next_dup3)(int, int, int);

/* The pipe libunwind holds, as moved here: numbers and identity. Written by the pipe2 of an
 * unwinding thread, read by unwinding threads; libunwind itself reopens the pipe without a
 * lock, so these are relaxed atomics and a torn pair only makes a check fail (safe side).
 * suspect: the program may have closed or replaced a number (set by the close family, cleared
 * when a check finds libunwind's pipe at both). reopening: a pipe2 of libunwind's is moving its
 * pipe (a check meanwhile may see the new pipe before it is remembered). */
static int pipe_fd[2] = {-1, -1};
static uint64_t pipe_ino[2], pipe_dev[2];
static uint32_t suspect, reopening;
static bool warned;
static __thread uint32_t countdown __attribute__((tls_model("initial-exec")));

void mp_unwfd_init(void)
{
	/* libunwind's own object, the one the shim links (RTLD_NEXT skips an executable that
	 * exports a libunwind of its own: its pipes are the program's). */
	void *init = dlsym(RTLD_NEXT, "_ULx86_64_init_local");
	if (init)
		mp_code_segment((uintptr_t)init, &unw_lo, &unw_hi);
	next_pipe2 = (int (*)(int[2], int))dlsym(RTLD_NEXT, "pipe2");
	next_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	next_close_range = (int (*)(unsigned, unsigned, int))dlsym(RTLD_NEXT, "close_range");
	next_closefrom = (void (*)(int))dlsym(RTLD_NEXT, "closefrom");
	next_dup2 = (int (*)(int, int))dlsym(RTLD_NEXT, "dup2");
	next_dup3 = (int (*)(int, int, int))dlsym(RTLD_NEXT, "dup3");
}

/* --- the close family: forwarded; a call that may touch the pipe's numbers raises suspect --- */

static inline bool ours(int fd)
{
	return fd >= 0 && (fd == __atomic_load_n(&pipe_fd[0], __ATOMIC_RELAXED) ||
			   fd == __atomic_load_n(&pipe_fd[1], __ATOMIC_RELAXED));
}

static inline void suspect_if(bool maybe)
{
	if (mp_unlikely(maybe))
		__atomic_store_n(&suspect, 1, __ATOMIC_RELAXED);
}

MP_EXPORT int close(int fd)
{
	suspect_if(ours(fd));
	mp_fd_single(fd); /* not while the profiler holds fd (fdgate.c) */
	return next_close ? next_close(fd) : (int)syscall(SYS_close, fd);
}

/* Ends a gated call (fdgate.c) with its result and errno. */
static int gate_end(bool gated, int r)
{
	int e = errno;
	mp_fd_range_end(gated);
	errno = e;
	return r;
}

/* A dup onto newfd, which may be free: no open of the profiler's may take that number
 * meanwhile, nor be replaced (fdgate.c). */
MP_EXPORT int dup2(int oldfd, int newfd)
{
	suspect_if(ours(newfd));
	bool gated = newfd >= 0 && mp_fd_range_begin();
	int r = next_dup2 ? next_dup2(oldfd, newfd) : (int)syscall(SYS_dup2, oldfd, newfd);
	return gate_end(gated, r);
}

MP_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	suspect_if(ours(newfd));
	bool gated = newfd >= 0 && mp_fd_range_begin();
	int r = next_dup3 ? next_dup3(oldfd, newfd, flags)
			  : (int)syscall(SYS_dup3, oldfd, newfd, flags);
	return gate_end(gated, r);
}

static inline bool any_in(unsigned lo, unsigned hi)
{
	for (int i = 0; i < 2; i++) {
		int fd = __atomic_load_n(&pipe_fd[i], __ATOMIC_RELAXED);
		if (fd >= 0 && (unsigned)fd >= lo && (unsigned)fd <= hi)
			return true;
	}
	return false;
}

MP_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	suspect_if(any_in(first, last));
	bool gated = mp_fd_range_begin(); /* none of the profiler's meanwhile */
	int r = next_close_range ? next_close_range(first, last, flags)
				 : (int)syscall(SYS_close_range, first, last, flags);
	return gate_end(gated, r);
}

MP_EXPORT void closefrom(int lowfd)
{
	suspect_if(lowfd >= 0 && any_in((unsigned)lowfd, ~0u));
	bool gated = mp_fd_range_begin();
	if (next_closefrom)
		next_closefrom(lowfd);
	else
		syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0);
	mp_fd_range_end(gated);
}

/* --- libunwind's pipe2 --- */

/* The lowest descriptor libunwind's pipe may move to: the top eighth below the soft limit
 * (capped at 1024, so the kernel's descriptor table does not grow for it). */
static int high_base(void)
{
	struct rlimit rl;
	rlim_t lim = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < lim)
		lim = rl.rlim_cur;
	return (int)(lim - lim / 8);
}

/* Moves fd to base or above, keeping its close-on-exec flag; the old number is closed. */
static int move_up(int fd, int base, bool cloexec)
{
	if (fd >= base)
		return fd;
	int nfd = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, base);
	if (nfd < 0)
		return fd; /* no room up there: stay */
	syscall(SYS_close, fd);
	return nfd;
}

static void remember(const int fds[2])
{
	for (int i = 0; i < 2; i++) {
		struct stat st;
		bool ok = fstat(fds[i], &st) == 0;
		__atomic_store_n(&pipe_ino[i], ok ? (uint64_t)st.st_ino : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&pipe_dev[i], ok ? (uint64_t)st.st_dev : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&pipe_fd[i], fds[i], __ATOMIC_RELAXED);
	}
}

MP_EXPORT int pipe2(int fds[2], int flags)
{
	uintptr_t caller = (uintptr_t)__builtin_return_address(0);
	bool unw = caller >= unw_lo && caller < unw_hi;
	if (!unw)
		return next_pipe2 ? next_pipe2(fds, flags) : (int)syscall(SYS_pipe2, fds, flags);
	/* The pipe takes the lowest free numbers until it is moved up: a dup2 of the program's
	 * onto one of them meanwhile would fail (EBUSY) or be closed under it (fdgate.c). */
	mp_fd_enter();
	__atomic_add_fetch(&reopening, 1, __ATOMIC_SEQ_CST);
	int r = next_pipe2 ? next_pipe2(fds, flags) : (int)syscall(SYS_pipe2, fds, flags);
	int saved = errno;
	if (r == 0) {
		int base = high_base();
		fds[0] = move_up(fds[0], base, flags & O_CLOEXEC);
		fds[1] = move_up(fds[1], base, flags & O_CLOEXEC);
		remember(fds);
		__atomic_store_n(&suspect, 0, __ATOMIC_RELAXED);
	}
	__atomic_sub_fetch(&reopening, 1, __ATOMIC_SEQ_CST);
	mp_fd_leave();
	errno = saved;
	return r;
}

/* --- the check before an unwind --- */

enum { THEIRS, CLOSED, TAKEN };

static int end_state(int i)
{
	int fd = __atomic_load_n(&pipe_fd[i], __ATOMIC_RELAXED);
	if (fd < 0)
		return CLOSED;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return errno == EBADF ? CLOSED : TAKEN;
	if (!S_ISFIFO(st.st_mode))
		return TAKEN;
	if ((uint64_t)st.st_ino == __atomic_load_n(&pipe_ino[i], __ATOMIC_RELAXED) &&
	    (uint64_t)st.st_dev == __atomic_load_n(&pipe_dev[i], __ATOMIC_RELAXED))
		return THEIRS;
	/* Another pipe: libunwind's new one, between its move and remember(), or the program's. */
	return __atomic_load_n(&reopening, __ATOMIC_SEQ_CST) ? THEIRS : TAKEN;
}

static bool safe(bool say)
{
	if (mp_likely(!__atomic_load_n(&suspect, __ATOMIC_RELAXED)) && mp_likely(countdown-- != 0))
		return true;
	countdown = CHECK_EVERY - 1;
	int saved = errno;
	int a = end_state(0), b = end_state(1);
	bool ok = a != TAKEN && b != TAKEN;
	/* Suspect until libunwind's pipe is back at both numbers (a periodic check may find it
	 * gone: a raw close). */
	__atomic_store_n(&suspect, a == THEIRS && b == THEIRS ? 0 : 1, __ATOMIC_RELAXED);
	if (!ok && say && !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		mp_log("the program reused the descriptors of libunwind's pipe; stacks are cut to "
		       "their first frame while it holds them");
	errno = saved;
	return ok;
}

bool mp_unwfd_safe(void)
{
	return safe(true);
}

bool mp_unwfd_safe_quiet(void)
{
	return safe(false);
}
