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
#include <pthread.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
/* Set by mp_fd_private's thread (which runs on its caller's TLS, the caller waiting): its
 * descriptors are in a table of its own, which nothing of the program's can close or reuse, so
 * the gate is not for them (their numbers are often the program's own). */
static __thread uint32_t in_private __attribute__((tls_model("initial-exec")));
/* Whether a seccomp filter was seen (mp_fd_private then runs its function here: a file it
 * opens on the program's table is moved to a high number at once, mp_fd_open, so the
 * program's number is taken for microseconds, not for a dump's write). Once set, for good: a
 * filter cannot be removed. */
static int filtered;

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
 * make its thread, and at init): F_DUPFD_CLOEXEC takes the lowest free one from there, so the
 * lowest free number, the one a program's open expects, is the profiler's only for the moment
 * between the open and the move. */
#define HIGH_FD 200

int mp_fd_open(const char *path, int flags, mode_t mode)
{
	if (in_private)
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
	if (in_private)
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

/* mp_fd_private's threads: their stacks (each made on first use and kept, a guard page below)
 * and which are in use. A caller finding all in use waits for one: running its function on
 * the program's descriptors instead would give the number away (another thread's /proc read
 * during a dump). */
#define PRIVATE_STACK (256 * 1024)
#define PRIVATE_SLOTS 4
static char *private_stack[PRIVATE_SLOTS];
static int private_busy[PRIVATE_SLOTS];

struct private_call {
	int (*fn)(void *);
	void *arg;
	int result;
	pid_t
	    tid; /* the thread's, cleared by the kernel when it has exited (CLONE_CHILD_CLEARTID) */
};

static int private_thread(void *p)
{
	struct private_call *c = p;
	in_private++;
	c->result = c->fn(c->arg);
	in_private--;
	return 0; /* glibc's clone ends the thread with exit(2), not exit_group */
}

/* The caller waits for the thread to end (a futex on its tid, which the kernel clears and wakes
 * at its exit: after that the thread no longer touches its stack). Not CLONE_VFORK: a debugger
 * would see a vfork each time, take the program's breakpoints out meanwhile, or hold it. */
static void private_wait(struct private_call *c)
{
	for (;;) {
		pid_t t = __atomic_load_n(&c->tid, __ATOMIC_ACQUIRE);
		if (t == 0)
			return;
		syscall(SYS_futex, &c->tid, FUTEX_WAIT, t, NULL, NULL, 0);
	}
}

static char *private_stack_top(int i)
{
	char *s = private_stack[i]; /* the slot's owner's alone */
	if (!s) {
		s = mmap(NULL, PRIVATE_STACK + 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
		if (s == MAP_FAILED)
			return NULL;
		(void)mprotect(s, 4096, PROT_NONE); /* an overflow faults, corrupting nothing */
		private_stack[i] = s;
	}
	return s + 4096 + PRIVATE_STACK;
}

static int private_slot(void)
{
	unsigned spins = 0;
	for (;;) {
		for (int i = 0; i < PRIVATE_SLOTS; i++) {
			int z = 0;
			if (__atomic_load_n(&private_busy[i], __ATOMIC_RELAXED) == 0 &&
			    __atomic_compare_exchange_n(&private_busy[i], &z, 1, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return i;
		}
		pause_a_little(&spins);
	}
}

/* Valgrind ends the process at a clone it does not know ("Valgrind does not support general
 * clone()") instead of failing it: its preloaded core is looked for once. */
static int find_valgrind(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	return info->dlpi_name && strstr(info->dlpi_name, "/vgpreload_") != NULL;
}

static bool valgrind; /* written once by mp_fd_init */

void mp_fd_init(void)
{
	valgrind = dl_iterate_phdr(find_valgrind, NULL) != 0;
}

int mp_fd_private(int (*fn)(void *), void *arg)
{
	/* A seccomp filter may kill a process for a clone with flags it does not expect (a
	 * sandbox's; a container's lets these through, but which is which cannot be told): only
	 * where there is none (PR_GET_SECCOMP is 0; a strict-mode process dies at the open too). */
	int e = errno; /* fn's errno is the caller's to see: the thread shares this one's TLS */
	if (!__atomic_load_n(&filtered, __ATOMIC_RELAXED) && !valgrind &&
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		__atomic_store_n(&filtered, 1, __ATOMIC_RELAXED);
	/* A low process limit (RLIMIT_NPROC counts threads) would lose the program a thread
	 * creation to this one's moment; a high one leaves room. */
	struct rlimit rl;
	bool few =
	    getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1024;
	if (valgrind || few || __atomic_load_n(&filtered, __ATOMIC_RELAXED)) {
		errno = e;
		return fn(arg);
	}
	int slot = private_slot();
	char *top = private_stack_top(slot);
	struct private_call c = {fn, arg, 0, 0};
	int tid = -1;
	if (top) {
		/* Blocked here until the thread has ended, and inherited by it: no handler of the
		 * program's runs on this thread while the other one uses its TLS, nor there. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		tid = clone(private_thread, top,
			    CLONE_VM | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
				CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
			    &c, &c.tid, NULL, &c.tid);
		if (tid != -1)
			private_wait(&c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	__atomic_store_n(&private_busy[slot], 0, __ATOMIC_RELEASE);
	if (tid == -1) { /* EAGAIN at a thread limit */
		errno = e;
		return fn(arg);
	}
	return c.result;
}

void mp_fd_reset_child(void)
{
	for (int i = 0; i < PRIVATE_SLOTS; i++)
		private_busy[i] = 0; /* a fork while another thread waited for its private call */
	users = closers = mine = closing = 0;
	for (int i = 0; i < HELD; i++)
		held[i] = 0;
}
