/* SPDX-License-Identifier: MIT */
/* Files the profiler opens at run time (a dump's, its /proc reads), kept out of the program's
 * descriptor numbers: opened on a short-lived thread of the profiler's made without
 * CLONE_FILES, so with a private copy of the descriptor table. A program relies on an open
 * getting the lowest free number (close(1) then open(log) redirects stdout): a dump's file took
 * the number for as long as writing it took, and the program wrote into the dump. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fdgate.h"

/* Set by mp_fd_private's thread (which runs on its caller's TLS, the caller waiting): its
 * descriptors are in a table of its own, which nothing of the program's can close or reuse, so
 * the descriptor gate (fdgate.c) is not for them (their numbers are often the program's). */
__thread uint32_t mp_fd_in_private __attribute__((tls_model("initial-exec")));
/* Whether a seccomp filter was seen (mp_fd_private then runs its function on the program's
 * table, where mp_fd_open moves a file up at once). Once set, for good: a filter cannot be
 * removed. */
static int filtered;

/* mp_fd_private's threads: their stacks (each made on first use and kept, a guard page below)
 * and which are in use. A caller finding all in use waits for one: running its function on
 * the program's descriptors instead would give the number away (another thread's /proc read
 * during a dump). */
#define PRIVATE_STACK (256 * 1024)
#define PRIVATE_SLOTS 4
static char *private_stack[PRIVATE_SLOTS];
static int private_busy[PRIVATE_SLOTS];

/* tid: the thread's, cleared by the kernel when it has exited (CLONE_CHILD_CLEARTID). */
struct private_call {
	int (*fn)(void *);
	void *arg;
	int result;
	pid_t tid;
};

/* Every descriptor in use (EMFILE: a program at its limit, or with a leak, as it exits; its
 * dump was lost): all of 0..limit-1 are open, and the highest, closed in this thread's copy of
 * the table, leaves room for the profiler's file. The program's own table is not touched. */
static void private_room(void)
{
	/* raw calls: the shim's own close (unwfd.c) is not wanted here; errno is the caller's */
	int e = errno;
	long fd = syscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC);
	struct rlimit rl;
	if (fd >= 0)
		syscall(SYS_close, fd);
	else if (errno == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 3 &&
		 rl.rlim_cur <= INT_MAX)
		syscall(SYS_close, (long)rl.rlim_cur - 1);
	errno = e;
}

static int private_thread(void *p)
{
	struct private_call *c = p;
	private_room();
	mp_fd_in_private++;
	c->result = c->fn(c->arg);
	mp_fd_in_private--;
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

/* The kernel clears the tid a moment before it takes the thread out of the process: until
 * then the process is multithreaded to unshare(CLONE_NEWUSER) and setns, which fail (EINVAL:
 * `unshare -r` right after its first sample's /proc read), and to a count of its threads. So
 * waited for too (tgkill without a signal fails, ESRCH, once it is gone), for a bounded time: a
 * tracer that has not reaped it yet keeps it longer. */
static void private_gone(pid_t tid)
{
	int e = errno; /* fn's, the caller's to see */
	pid_t pid = getpid();
	for (int i = 0; i < 20000 && syscall(SYS_tgkill, pid, tid, 0) == 0; i++)
		sched_yield();
	errno = e;
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

/* Slot 0 is kept for the calls that are not bulk: a dump's (its file, its /proc reads). The
 * bulk ones, each thread's first look at its stack mapping (stackbounds.c), take 1 to 3 and
 * sleep on bulk_seq while all three are busy: thousands of new threads spinning for them
 * starved both the calls under way and the exit dump (a process that kept making threads hung
 * at exit). */
static uint32_t bulk_seq;
static int bulk_waiters;

static int private_slot(bool bulk)
{
	unsigned spins = 0;
	for (;;) {
		uint32_t seq = __atomic_load_n(&bulk_seq, __ATOMIC_ACQUIRE);
		for (int i = bulk ? 1 : 0; i < PRIVATE_SLOTS; i++) {
			int z = 0;
			if (__atomic_load_n(&private_busy[i], __ATOMIC_RELAXED) == 0 &&
			    __atomic_compare_exchange_n(&private_busy[i], &z, 1, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return i;
		}
		if (!bulk) { /* slot 0 comes free soon: only such calls take it */
			if (++spins > 64)
				sched_yield();
			continue;
		}
		/* A wake may go to a waiter that then finds the slot taken: the timeout bounds
		 * how long another sleeps on regardless. */
		struct timespec ts = {0, 20 * 1000 * 1000};
		__atomic_add_fetch(&bulk_waiters, 1, __ATOMIC_ACQ_REL);
		syscall(SYS_futex, &bulk_seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
		__atomic_sub_fetch(&bulk_waiters, 1, __ATOMIC_ACQ_REL);
	}
}

static void private_release(int slot)
{
	__atomic_store_n(&private_busy[slot], 0, __ATOMIC_RELEASE);
	if (slot == 0)
		return;
	__atomic_add_fetch(&bulk_seq, 1, __ATOMIC_ACQ_REL);
	if (__atomic_load_n(&bulk_waiters, __ATOMIC_ACQUIRE) > 0)
		syscall(SYS_futex, &bulk_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
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

/* A high limit leaves room. Root is not exempt here: the kernel exempts only the initial
 * namespace's (a container's root is held to it), and taking it for scarce costs little. */
bool mp_threads_scarce(void)
{
	struct rlimit rl;
	return getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	       rl.rlim_cur < 1024;
}

static int private_call(int (*fn)(void *), void *arg, bool bulk)
{
	/* A seccomp filter may kill a process for a clone with flags it does not expect (a
	 * sandbox's; a container's lets these through, but which is which cannot be told): only
	 * where there is none (PR_GET_SECCOMP is 0; a strict-mode process dies at the open too). */
	int e = errno; /* fn's errno is the caller's to see: the thread shares this one's TLS */
	if (!__atomic_load_n(&filtered, __ATOMIC_RELAXED) && !valgrind &&
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		__atomic_store_n(&filtered, 1, __ATOMIC_RELAXED);
	/* A low process limit would lose the program a thread creation to this one's moment. */
	if (valgrind || mp_threads_scarce() || __atomic_load_n(&filtered, __ATOMIC_RELAXED)) {
		errno = e;
		return fn(arg);
	}
	int slot = private_slot(bulk);
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
		if (tid != -1) {
			private_wait(&c);
			private_gone(tid);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	private_release(slot);
	if (tid == -1) { /* EAGAIN at a thread limit */
		errno = e;
		return fn(arg);
	}
	return c.result;
}

int mp_fd_private(int (*fn)(void *), void *arg)
{
	return private_call(fn, arg, false);
}

int mp_fd_private_bulk(int (*fn)(void *), void *arg)
{
	return private_call(fn, arg, true);
}

void mp_fd_private_reset_child(void)
{
	for (int i = 0; i < PRIVATE_SLOTS; i++)
		private_busy[i] = 0; /* a fork while another thread waited for its private call */
	bulk_seq = 0;
	bulk_waiters = 0;
}
