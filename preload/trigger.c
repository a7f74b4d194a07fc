/* SPDX-License-Identifier: MIT */
/* The writer thread behind MAPPROF_SIGNAL and MAPPROF_INTERVAL. The signal handler only posts
 * a semaphore (sem_post is async-signal-safe: no allocation, no lock); the thread, started
 * with all signals blocked so it never runs the program's handlers, wakes on it or on the
 * interval timeout and writes a dump. Its own allocations pass through unrecorded. A semaphore
 * and not a pipe: the profiler holds no descriptor that a program closing all of its
 * descriptors (then opening files at those numbers) could pull from under it. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include "trigger.h"

/* Written by start/stop/reset (the constructor, destructor, fork child); posted by the handler,
 * waited on by the thread. */
static sem_t wake;
static bool wake_ready;
static pthread_t writer;
static int running;
static volatile int stopping;

static void on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	if (wake_ready)
		sem_post(&wake);
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

static void *writer_main(void *arg)
{
	(void)arg;
	mp_tls.guard++; /* everything this thread does is the profiler's */
	struct timespec due = deadline();
	for (;;) {
		int r = mp_config.interval ? sem_clockwait(&wake, CLOCK_MONOTONIC, &due)
					   : sem_wait(&wake);
		if (r != 0 && errno == EINTR)
			continue;
		if (stopping)
			break;
		bool signalled = r == 0;
		if (r != 0 && errno != ETIMEDOUT)
			break; /* cannot happen with a valid semaphore; never spin */
		while (sem_trywait(&wake) == 0) /* signals that came together: one dump */
			;
		if (stopping)
			break;
		due = deadline(); /* a signal's dump also restarts the interval */
		mp_tls.guard--;
		mp_dump_write(signalled ? "signal" : "interval");
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
	mp_tls.guard--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!running)
		mp_log("cannot start the dump thread; MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored");
}

void mp_trigger_start(void)
{
	if (!mp_config.signal && !mp_config.interval)
		return;
	if (sem_init(&wake, 0, 0) != 0) {
		mp_log("cannot create the dump semaphore; MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored");
		return;
	}
	wake_ready = true;
	if (mp_config.signal) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(mp_config.signal, &sa, NULL);
	}
	start_thread();
}

void mp_trigger_stop(void)
{
	if (!running)
		return;
	stopping = 1;
	sem_post(&wake);
	pthread_join(writer, NULL);
	running = 0;
}

/* The child of fork has no writer thread: start its own, on a semaphore of its own (the
 * parent's thread may have been inside sem_wait at the fork). */
void mp_trigger_reset_child(void)
{
	mp_dump_reset_child();
	if (!running)
		return;
	running = 0;
	stopping = 0;
	if (sem_init(&wake, 0, 0) != 0) {
		wake_ready = false;
		return;
	}
	start_thread();
}

/* unshare(CLONE_NEWUSER) and setns into a user namespace refuse a multithreaded process: with
 * the writer thread running, `unshare -r` (and bwrap, rootless containers) would fail where it
 * worked without the profiler. The thread is stopped around such a call and started again. */
static bool pause_writer(void)
{
	if (!running || mp_tls.guard)
		return false;
	mp_trigger_stop();
	stopping = 0;
	return true;
}

MP_EXPORT int unshare(int flags)
{
	static int (*next)(int);
	if (!next)
		next = (int (*)(int))dlsym(RTLD_NEXT, "unshare");
	bool paused = (flags & CLONE_NEWUSER) && pause_writer();
	int r = next ? next(flags) : (errno = ENOSYS, -1);
	if (paused) {
		int saved = errno;
		start_thread();
		errno = saved;
	}
	return r;
}

MP_EXPORT int setns(int fd, int nstype)
{
	static int (*next)(int, int);
	if (!next)
		next = (int (*)(int, int))dlsym(RTLD_NEXT, "setns");
	/* nstype 0 may be any kind, a user namespace too */
	bool paused = (nstype == 0 || (nstype & CLONE_NEWUSER)) && pause_writer();
	int r = next ? next(fd, nstype) : (errno = ENOSYS, -1);
	if (paused) {
		int saved = errno;
		start_thread();
		errno = saved;
	}
	return r;
}
