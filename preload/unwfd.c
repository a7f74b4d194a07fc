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
 * Two defences. pipe2 is interposed: a pipe libunwind opens is moved up to a high, rarely used
 * descriptor, so a program opening files after closing everything does not get those numbers.
 * And before each unwind mp_unwfd_safe() checks that both numbers are still that pipe or
 * closed (libunwind then opens a new one, through pipe2 again); if the program has put a file
 * of its own there, the capture does not call libunwind at all. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "mp.h"
#include "stack.h"
#include "unwfd.h"

/* libunwind's code range (its pipe2 calls come from there) and the next pipe2: written once by
 * mp_unwfd_init, before any unwind. */
static uintptr_t unw_lo, unw_hi;
static int (*next_pipe2)(int[2], int);

/* The pipe libunwind holds, as moved here: numbers and identity. Written by the pipe2 of an
 * unwinding thread, read by unwinding threads; libunwind itself reopens the pipe without a
 * lock, so these are relaxed atomics and a torn pair only makes a check fail (safe side). */
static int pipe_fd[2] = {-1, -1};
static uint64_t pipe_ino[2];
static uint64_t pipe_dev;
static bool warned;

void mp_unwfd_init(void)
{
	next_pipe2 = (int (*)(int[2], int))dlsym(RTLD_NEXT, "pipe2");
	/* unw_init_local: a libunwind function nothing else interposes (unw_backtrace may be). */
	mp_code_segment((uintptr_t)&unw_init_local, &unw_lo, &unw_hi);
}

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
	close(fd);
	return nfd;
}

static void remember(const int fds[2])
{
	struct stat st;
	for (int i = 0; i < 2; i++) {
		uint64_t ino = fstat(fds[i], &st) == 0 ? (uint64_t)st.st_ino : 0;
		__atomic_store_n(&pipe_ino[i], ino, __ATOMIC_RELAXED);
		__atomic_store_n(&pipe_dev, (uint64_t)st.st_dev, __ATOMIC_RELAXED);
		__atomic_store_n(&pipe_fd[i], fds[i], __ATOMIC_RELAXED);
	}
}

MP_EXPORT int pipe2(int fds[2], int flags)
{
	int r = next_pipe2 ? next_pipe2(fds, flags) : (int)syscall(SYS_pipe2, fds, flags);
	uintptr_t caller = (uintptr_t)__builtin_return_address(0);
	if (r != 0 || caller < unw_lo || caller >= unw_hi)
		return r;
	int saved = errno;
	int base = high_base();
	fds[0] = move_up(fds[0], base, flags & O_CLOEXEC);
	fds[1] = move_up(fds[1], base, flags & O_CLOEXEC);
	remember(fds);
	errno = saved;
	return r;
}

/* Each end is the pipe remembered, or closed. */
static bool end_ok(int i)
{
	int fd = __atomic_load_n(&pipe_fd[i], __ATOMIC_RELAXED);
	if (fd < 0)
		return true;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return errno == EBADF;
	return S_ISFIFO(st.st_mode) &&
	       (uint64_t)st.st_ino == __atomic_load_n(&pipe_ino[i], __ATOMIC_RELAXED) &&
	       (uint64_t)st.st_dev == __atomic_load_n(&pipe_dev, __ATOMIC_RELAXED);
}

bool mp_unwfd_safe(void)
{
	int saved = errno;
	bool ok = end_ok(0) && end_ok(1);
	errno = saved;
	if (!ok && !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		mp_log("the program reused the descriptors of libunwind's pipe; stacks are cut to "
		       "their first frame while it holds them");
	return ok;
}
