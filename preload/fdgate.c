/* SPDX-License-Identifier: MIT */
/* The profiler's short-lived descriptors against the program's close family.
 *
 * A dump holds a file open while it writes it; a first capture reads /proc/self/maps. A program
 * that closes every descriptor from 3 up meanwhile (closefrom, close_range: daemons do), then
 * opens files of its own, gets the profiler's numbers: the dump was then written into the
 * program's file and linked into the dump directory, and the program's file came out corrupted.
 * So the two exclude each other: a range close waits until the profiler holds no descriptor, and
 * the profiler opens none while a range close runs (`users` and `closers`, each side raising its
 * own count and then looking at the other's: sequentially consistent, so at most one side goes
 * on, and the profiler's side backs off). A dup onto a number is such a range too: the number
 * may be free, and the profiler's next open could take it. A close of one number waits only
 * while that number is the profiler's (a number the program holds cannot be). Waits poll: a dump
 * holds its file for milliseconds, a range close is rare. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "fdgate.h"

#define HELD 8 /* descriptors held at once: a dump's file, and a /proc read per thread */

static uint32_t users, closers;
static pid_t closers_pid; /* whose closers they are: a raw clone child inherits the count */
static int held[HELD];	  /* fd + 1, 0 free */
/* The process the counts belong to: a child made by a raw clone (no atfork handler) inherits
 * them with no thread to bring them down; it must not wait for them. */
static pid_t owner;
/* Descriptors this thread holds, and whether it is inside a range close of the program's: an
 * open then goes ahead (a second one while the first is held; a dump by a signal handler's
 * _exit that interrupted this thread's closefrom), since backing off would wait for itself. */
static __thread uint32_t mine __attribute__((tls_model("initial-exec")));
static __thread uint32_t closing __attribute__((tls_model("initial-exec")));

/* The counts and numbers are this process's own (not a raw clone child's inheritance). */
static bool ours(void)
{
	return __atomic_load_n(&owner, __ATOMIC_RELAXED) == getpid();
}

static void pause_a_little(unsigned *spins)
{
	if (++*spins < 64) {
		sched_yield();
		return;
	}
	struct timespec ts = {0, 100 * 1000};
	syscall(SYS_nanosleep, &ts, NULL);
}

void mp_fd_enter(void)
{
	/* Before the count: a range close that sees the count must also see whose it is, or it
	 * would not wait for it (ours()). The count's increment publishes it. */
	__atomic_store_n(&owner, getpid(), __ATOMIC_RELAXED);
	pid_t me = getpid();
	unsigned spins = 0;
	for (;;) {
		__atomic_add_fetch(&users, 1, __ATOMIC_SEQ_CST);
		if (mine || closing || __atomic_load_n(&closers, __ATOMIC_SEQ_CST) == 0 ||
		    __atomic_load_n(&closers_pid, __ATOMIC_RELAXED) != me)
			break;
		__atomic_sub_fetch(&users, 1, __ATOMIC_SEQ_CST);
		pause_a_little(&spins);
	}
}

void mp_fd_leave(void)
{
	int e = errno;
	__atomic_sub_fetch(&users, 1, __ATOMIC_SEQ_CST);
	errno = e;
}

/* A high number for a descriptor opened on the program's table (where mp_fd_private could not
 * make its thread (fdprivate.c), and at init): F_DUPFD_CLOEXEC takes the lowest free one from
 * there, so the lowest free number, the one a program's open expects, is the profiler's only for
 * the moment between the open and the move. */
#define HIGH_FD 200

int mp_fd_open(const char *path, int flags, mode_t mode)
{
	if (mp_fd_in_private)
		return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
	mp_fd_enter();
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
	if (fd < 0) {
		mp_fd_leave();
		return -1;
	}
	if (fd < HIGH_FD) {
		int e = errno;
		int hi = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, HIGH_FD);
		if (hi >= 0) {
			syscall(SYS_close, fd);
			fd = hi;
		}
		errno = e;
	}
	for (int i = 0; i < HELD; i++) {
		int zero = 0;
		if (__atomic_compare_exchange_n(&held[i], &zero, fd + 1, false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			break;
	}
	mine++;
	return fd;
}

int mp_fd_close(int fd)
{
	if (mp_fd_in_private)
		return (int)syscall(SYS_close, fd);
	for (int i = 0; i < HELD; i++) {
		int want = fd + 1;
		if (__atomic_compare_exchange_n(&held[i], &want, 0, false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			break;
	}
	int r = (int)syscall(SYS_close, fd);
	int e = errno;
	mine--;
	__atomic_sub_fetch(&users, 1, __ATOMIC_SEQ_CST);
	errno = e;
	return r;
}

static bool is_held(int fd)
{
	for (int i = 0; i < HELD; i++)
		if (__atomic_load_n(&held[i], __ATOMIC_SEQ_CST) == fd + 1)
			return true;
	return false;
}

void mp_fd_single(int fd)
{
	if (fd < 0 || mp_tls.guard || !is_held(fd))
		return;
	int saved = errno;
	unsigned spins = 0;
	while (is_held(fd) && ours())
		pause_a_little(&spins);
	errno = saved;
}

bool mp_fd_range_begin(void)
{
	if (mp_tls.guard)
		return false;
	/* This thread's mark first: a signal handler that runs between the two (an _exit that
	 * dumps) must see it, or it waits for this very close forever. */
	closing++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&closers_pid, getpid(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&closers, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&users, __ATOMIC_SEQ_CST) != 0) {
		int saved = errno;
		unsigned spins = 0;
		while (__atomic_load_n(&users, __ATOMIC_SEQ_CST) != 0 && ours())
			pause_a_little(&spins);
		errno = saved;
	}
	return true;
}

void mp_fd_range_end(bool began)
{
	if (!began)
		return;
	__atomic_sub_fetch(&closers, 1, __ATOMIC_SEQ_CST);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	closing--;
}

void mp_fd_reset_child(void)
{
	mp_fd_private_reset_child();
	users = closers = mine = closing = 0;
	for (int i = 0; i < HELD; i++)
		held[i] = 0;
}
