/* SPDX-License-Identifier: MIT */
/* The writer thread behind MAPPROF_SIGNAL and MAPPROF_INTERVAL. The signal handler only posts
 * a semaphore (sem_post is async-signal-safe: no allocation, no lock); the thread, started
 * with all signals blocked so it never runs the program's handlers, wakes on it or on the
 * interval timeout and writes a dump. Its own allocations pass through unrecorded. A semaphore
 * and not a pipe: the profiler holds no descriptor that a program closing all of its
 * descriptors (then opening files at those numbers) could pull from under it. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "fdgate.h"
#include "trigger.h"

/* Written by start/stop/reset (the constructor, destructor, fork child); posted by the handler,
 * waited on by the thread. */
static sem_t wake;
static bool wake_ready;
static pthread_t writer;
static int running;
static pid_t writer_pid; /* the process the writer runs in (a vfork child shares our memory) */
/* ctl_lock: starting and stopping the writer (exit, unshare/setns, their concurrent callers). */
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stopping;
/* The writer is stopped around a call (pause_writer), and wanted back after it: a fork child
 * made meanwhile (by another thread) starts its own, as it would had the writer been running.
 * ctl_lock held. */
static int writer_paused;

/* Signals received and not yet answered by a dump: counted before the post, so that a wake
 * for another reason (a thread gone, below) is never taken for a dump request, nor a request
 * lost with the posts drained together (one dump answers them all). */
static int signals;

static void on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	if (wake_ready) {
		__atomic_add_fetch(&signals, 1, __ATOMIC_RELEASE);
		sem_post(&wake);
	}
	errno = saved;
}

/* Now plus the interval on the monotonic clock (saturated: any interval is accepted). */
static struct timespec deadline(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)mp_config.interval;
	return ts;
}

struct stat_read {
	const char *path;
	char *buf;
	size_t n;
	ssize_t got;
	pid_t caller;
	bool elsewhere; /* read on mp_fd_private's thread: one thread more in the count */
};

static int stat_read_fn(void *p)
{
	struct stat_read *r = p;
	int fd = mp_fd_open(r->path, O_RDONLY | O_CLOEXEC, 0);
	r->got = fd < 0 ? -1 : read(fd, r->buf, r->n - 1);
	if (fd >= 0)
		mp_fd_close(fd);
	r->elsewhere = (pid_t)syscall(SYS_gettid) != r->caller;
	return 0;
}

/* Reads a /proc stat file and returns the text after the command name ("S ppid ..."), in buf;
 * NULL on failure. The name may hold spaces and parentheses: the last ')' ends it. Read with
 * private descriptors (this runs every second): *elsewhere tells whether a thread of the
 * profiler's read it (/proc/thread-self is then that thread's, in the same process). */
static const char *stat_fields(const char *path, char *buf, size_t n, bool *elsewhere)
{
	int cs = mp_nocancel();
	struct stat_read r = {path, buf, n, -1, (pid_t)syscall(SYS_gettid), false};
	mp_fd_private(stat_read_fn, &r);
	mp_cancel_restore(cs);
	*elsewhere = r.elsewhere;
	ssize_t got = r.got;
	if (got <= 0)
		return NULL;
	buf[got] = 0;
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p + 2 : NULL;
}

/* Whether this thread is the last one running: the process's thread count (field 20, read
 * through /proc/thread-self: /proc/self is out of reach once the main thread has exited) is 1,
 * or 2 with the main thread a zombie (it called pthread_exit and waits for the rest). */
static bool alone(void)
{
	char buf[1024];
	bool elsewhere;
	const char *f = stat_fields("/proc/thread-self/stat", buf, sizeof(buf), &elsewhere);
	for (int field = 3; f && field < 20; field++) {
		f = strchr(f, ' ');
		f = f ? f + 1 : NULL;
	}
	long n = f ? strtol(f, NULL, 10) - elsewhere : 0;
	if (n != 2)
		return n == 1;
	const char *leader =
	    stat_fields("/proc/thread-self/../../stat", buf, sizeof(buf), &elsewhere);
	return leader && leader[0] == 'Z';
}

/* After main has left with pthread_exit, the last of the program's threads (with a record) to
 * end posts `wake`: the writer then looks at once (and every 10 ms for a while: the thread is
 * still there while its destructors run) whether it is the last thread, instead of at its next
 * second (such a process ended up to a second late). */
static int main_gone;

bool mp_trigger_watching(void)
{
	if (!__atomic_load_n(&running, __ATOMIC_RELAXED) || !wake_ready || writer_pid != getpid())
		return false;
	if ((pid_t)syscall(SYS_gettid) == getpid())
		__atomic_store_n(&main_gone, 1, __ATOMIC_RELAXED);
	return __atomic_load_n(&main_gone, __ATOMIC_RELAXED);
}

void mp_trigger_last_gone(void)
{
	if (wake_ready)
		sem_post(&wake);
}

/* The next interval dump: kept across restarts of the writer (unshare, setns and the set*id
 * family stop it; a program calling seteuid every half second had lost its interval dumps).
 * Written by the writer only, and by the fork child before it starts one. */
static struct timespec next_due;

static void *writer_main(void *arg)
{
	(void)arg;
	mp_tls.guard++; /* everything this thread does is the profiler's */
	struct timespec due = next_due.tv_sec ? next_due : deadline();
	next_due = due;
	int quick = 0; /* 10 ms waits left, after the last thread posted */
	for (;;) {
		/* Wake at least every second: when the program's last thread has gone (main called
		 * pthread_exit), this thread alone would keep the process alive, with every
		 * signal blocked. It ends the process as that last thread would have: exit(0). */
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		if (quick > 0) {
			quick--;
			until.tv_nsec += 10 * 1000 * 1000;
			if (until.tv_nsec >= 1000 * 1000 * 1000) {
				until.tv_sec++;
				until.tv_nsec -= 1000 * 1000 * 1000;
			}
		} else {
			until.tv_sec += 1;
		}
		bool timed = mp_config.interval &&
			     (due.tv_sec < until.tv_sec ||
			      (due.tv_sec == until.tv_sec && due.tv_nsec < until.tv_nsec));
		int r = sem_clockwait(&wake, CLOCK_MONOTONIC, timed ? &due : &until);
		if (r != 0 && errno == EINTR)
			continue;
		if (stopping)
			break;
		if (r != 0 && errno != ETIMEDOUT)
			break; /* cannot happen with a valid semaphore; never spin */
		while (sem_trywait(&wake) == 0) /* posts that came together: one look */
			;
		bool signalled = __atomic_exchange_n(&signals, 0, __ATOMIC_ACQ_REL) > 0;
		if (r == 0 && !signalled) /* the program's last thread (with a record) ended */
			quick = 50;
		if (!signalled && alone()) {
			running = 0; /* the destructor must not wait for this thread */
			mp_tls.guard--;
			exit(0);
		}
		if (!signalled && (r == 0 || !timed))
			continue;
		if (stopping) { /* the next writer answers it (one paused around unshare) */
			if (signalled)
				__atomic_add_fetch(&signals, 1, __ATOMIC_RELEASE);
			break;
		}
		/* The interval keeps its own beat: signal dumps every 0.45 s had put off every
		 * interval dump for as long as they came. */
		if (!signalled)
			due = next_due = deadline();
		mp_tls.guard--;
		mp_dump_write(signalled ? "signal" : "interval", MP_STATS_READ);
		mp_tls.guard++;
	}
	return NULL;
}

static void start_thread(void)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	mp_tls.guard++;
	running = pthread_create(&writer, NULL, writer_main, NULL) == 0;
	writer_pid = getpid();
	mp_tls.guard--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!running)
		mp_log("cannot start the dump thread; MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored");
}

/* A signal the process inherited as ignored stays ignored: replacing SIG_IGN would deliver
 * to the program what it meant to ignore, and would hand SIG_DFL (death) to any child it
 * execs without the shim. A handler installed before the shim started (a library's
 * constructor, the program's .preinit_array) is the program's: replaced, it never ran again.
 * Either way dumps on it are off, said once. */
static bool signal_taken(int sig)
{
	struct sigaction old;
	if (sigaction(sig, NULL, &old) != 0)
		return false;
	/* sa_handler and sa_sigaction share storage: SIG_DFL and SIG_IGN read the same with
	 * SA_SIGINFO set (the flag stays after an SA_RESETHAND handler ran). */
	if (old.sa_handler == SIG_DFL)
		return false;
	if (old.sa_handler == SIG_IGN)
		mp_log("MAPPROF_SIGNAL: the process ignores that signal (inherited), so it "
		       "triggers no dumps");
	else
		mp_log("MAPPROF_SIGNAL: the program handles that signal already (a handler "
		       "installed before the profiler started, by a library's constructor or the "
		       "program's preinit code), so it triggers no dumps");
	return true;
}

void mp_trigger_start(void)
{
	if (mp_config.signal && signal_taken(mp_config.signal))
		mp_config.signal = 0;
	if (!mp_config.signal && !mp_config.interval)
		return;
	bool scarce = mp_threads_scarce();
	if (scarce) {
		/* Its thread would take one the program may need (black-box QA: its 9th thread
		 * failed under ulimit -u 10). The signal is still caught (its default would end
		 * the process it was sent to for a dump), to no effect: wake_ready stays false. */
		mp_log(
		    "MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored: the process limit (ulimit -u, "
		    "which counts threads) is low, and the dump thread would take one the program "
		    "may need; the signal is caught and does nothing; dumps are written at exit "
		    "and by mapprof_dump()");
	} else if (sem_init(&wake, 0, 0) != 0) {
		mp_log("cannot create the dump semaphore; MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored");
		return;
	} else {
		wake_ready = true;
	}
	if (mp_config.signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(mp_config.signal, &sa, NULL) != 0)
			mp_log(
			    "MAPPROF_SIGNAL: cannot install the handler; no dumps on that signal");
	}
	if (!scarce)
		start_thread();
}

/* ctl_lock held. */
static void stop_locked(void)
{
	if (!running || pthread_equal(pthread_self(), writer))
		return;
	/* Not in this process (a raw clone child that is pid 1 of a new pid namespace, as its
	 * parent may be: the pid alone cannot tell): nothing to stop. */
	if (pthread_kill(writer, 0) == ESRCH) {
		running = 0;
		return;
	}
	stopping = 1;
	sem_post(&wake);
	int cs = mp_nocancel(); /* reached from exit() and unshare(), no cancellation points */
	/* The join is the profiler's, and so is what glibc frees in it: when the writer's stack
	 * puts glibc's stack cache over its limit, the TLS blocks of the oldest stacks cached, the
	 * program's exited threads' (an exact count read one free more, the program's block
	 * gone, with MAPPROF_INTERVAL or MAPPROF_SIGNAL set). */
	mp_tls.guard++;
	pthread_join(writer, NULL);
	mp_tls.guard--;
	mp_cancel_restore(cs);
	running = 0;
	stopping = 0;
}

void mp_trigger_stop(void)
{
	/* A child of a raw clone (no fork handlers ran) holds a copy of this state, the lock
	 * perhaps taken, but no writer thread: it waited for it forever at exit. A vfork child's
	 * state is its parent's. */
	if (__atomic_load_n(&writer_pid, __ATOMIC_RELAXED) != getpid())
		return;
	pthread_mutex_lock(&ctl_lock);
	stop_locked();
	pthread_mutex_unlock(&ctl_lock);
}

void mp_trigger_scarce(void)
{
	if (mp_tls.guard || !mp_threads_scarce())
		return;
	pthread_mutex_lock(&ctl_lock);
	if (__atomic_load_n(&running, __ATOMIC_RELAXED) && getpid() == writer_pid &&
	    !pthread_equal(pthread_self(), writer)) {
		stop_locked();
		wake_ready = false; /* the signal is still caught, to no effect */
		mp_log("MAPPROF_SIGNAL/MAPPROF_INTERVAL stopped: the program lowered its process "
		       "limit (RLIMIT_NPROC, which counts threads), and the dump thread would take "
		       "one it may need; dumps are written at exit and by mapprof_dump()");
	}
	pthread_mutex_unlock(&ctl_lock);
}

/* The child of fork has no writer thread: start its own, on a semaphore of its own (the
 * parent's thread may have been inside sem_wait at the fork). */
void mp_trigger_reset_child(void)
{
	next_due = (struct timespec){0, 0}; /* the child's own interval from its start */
	main_gone = 0;			    /* the child's only thread is its main one */
	signals = 0;
	mp_dump_reset_child();
	pthread_mutex_init(&ctl_lock, NULL); /* perhaps held by a parent's thread in a pause */
	bool wanted = running || writer_paused;
	running = 0;
	stopping = 0;
	writer_paused = 0;
	if (!wanted)
		return;
	/* The program may have lowered its process limit since the start (a daemon sandboxing
	 * itself before it forks workers): each child's writer would take one a worker needs. */
	if (mp_threads_scarce()) {
		wake_ready = false; /* the signal is still caught, to no effect */
		mp_log("MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored in this fork child: the process "
		       "limit (ulimit -u, which counts threads) is low, and the dump thread would "
		       "take one the program may need; dumps are written at exit and by "
		       "mapprof_dump()");
		return;
	}
	if (sem_init(&wake, 0, 0) != 0) {
		wake_ready = false;
		return;
	}
	start_thread();
}

/* unshare(CLONE_NEWUSER) (and CLONE_THREAD, CLONE_SIGHAND, CLONE_VM) and setns into a user or
 * mount namespace refuse a multithreaded process: with the writer thread running, `unshare -r`,
 * `nsenter -m` (and bwrap, rootless containers) would fail where they worked without the
 * profiler. The thread is stopped around such a call and started again, one caller at a time
 * (ctl_lock held throughout). Not in a vfork child: the writer is the parent's. */
static bool pause_writer(void)
{
	if (mp_tls.guard)
		return false;
	pthread_mutex_lock(&ctl_lock);
	if (!running || getpid() != writer_pid) {
		pthread_mutex_unlock(&ctl_lock);
		return false;
	}
	writer_paused = 1; /* first: a fork child made while it stops wants its own too */
	stop_locked();
	return true;
}

/* The writer joined has left user space, but the kernel may count it in the thread group a
 * moment longer: a call that refuses a multithreaded process (EINVAL) is tried again, for up
 * to 50 ms, after a call that paused the writer. */
static bool retry_single(bool paused, int r, int *tries)
{
	if (!paused || r == 0 || errno != EINVAL || ++*tries > 50)
		return false;
	struct timespec ts = {0, 1000 * 1000};
	nanosleep(&ts, NULL);
	return true;
}

static void resume_writer(void)
{
	int saved = errno;
	if (writer_paused) { /* not if a fork child, made from within the call, started its own */
		start_thread();
		writer_paused = 0; /* after: a fork meanwhile sees one of the two set */
	}
	pthread_mutex_unlock(&ctl_lock);
	errno = saved;
}

MP_EXPORT int unshare(int flags)
{
	static int (*next)(int);
	if (!next)
		next = (int (*)(int))dlsym(RTLD_NEXT, "unshare");
	bool paused =
	    (flags & (CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)) && pause_writer();
	int r = next ? next(flags) : (errno = ENOSYS, -1);
	for (int tries = 0; next && retry_single(paused, r, &tries);)
		r = next(flags);
	if (paused)
		resume_writer();
	return r;
}

MP_EXPORT int setns(int fd, int nstype)
{
	static int (*next)(int, int);
	if (!next)
		next = (int (*)(int, int))dlsym(RTLD_NEXT, "setns");
	/* nstype 0 may be any kind */
	bool paused = (nstype == 0 || (nstype & (CLONE_NEWUSER | CLONE_NEWNS))) && pause_writer();
	int r = next ? next(fd, nstype) : (errno = ENOSYS, -1);
	for (int tries = 0; next && retry_single(paused, r, &tries);)
		r = next(fd, nstype);
	if (paused)
		resume_writer();
	return r;
}

/* The set*id calls change every thread's credentials: glibc makes each thread repeat the call
 * (a signal to each, and an abort if one of them fails). The writer thread cannot repeat what
 * the caller alone was made able to do: setpriv's drop raises CAP_SETGID in the calling thread
 * only (capset is per thread) before its setresgid, and the program aborted with the writer
 * running. The writer is stopped around the call, as for unshare; started again after it, it
 * has the new credentials. */
#define SETID(name, params, args)                                                                  \
	MP_EXPORT int name params                                                                  \
	{                                                                                          \
		static int(*next) params;                                                          \
		if (!next)                                                                         \
			next = (int(*) params)dlsym(RTLD_NEXT, #name);                             \
		bool paused = pause_writer();                                                      \
		int rc_ = next ? next args : (errno = ENOSYS, -1);                                 \
		if (paused)                                                                        \
			resume_writer();                                                           \
		return rc_;                                                                        \
	}
SETID(setuid, (uid_t u), (u))
SETID(setgid, (gid_t g), (g))
SETID(seteuid, (uid_t u), (u))
SETID(setegid, (gid_t g), (g))
SETID(setreuid, (uid_t ru, uid_t eu), (ru, eu))
SETID(setregid, (gid_t rg, gid_t eg), (rg, eg))
SETID(setresuid, (uid_t ru, uid_t eu, uid_t su), (ru, eu, su))
SETID(setresgid, (gid_t rg, gid_t eg, gid_t sg), (rg, eg, sg))
SETID(setgroups, (size_t n, const gid_t *list), (n, list))
/* glibc's initgroups calls its own setgroups, not through the PLT (setpriv --init-groups after a
 * drop that raised CAP_SETGID in its thread only aborted). */
SETID(initgroups, (const char *user, gid_t group), (user, group))
