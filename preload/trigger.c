/* SPDX-License-Identifier: MIT */
/* The writer thread behind MAPPROF_SIGNAL and MAPPROF_INTERVAL. The signal handler only writes
 * one byte to a pipe (async-signal-safe: no allocation, no lock); the thread, started with all
 * signals blocked so it never runs the program's handlers, wakes on that byte or on the
 * interval timeout and writes a dump. Its own allocations pass through unrecorded. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "trigger.h"

/* Written by start/stop/reset (the constructor, destructor, fork child); read by the handler
 * and the thread. */
static int wake_pipe[2] = {-1, -1};
static pthread_t writer;
static int running;
static volatile int stopping;

static void on_signal(int sig)
{
	int saved = errno;
	if (wake_pipe[1] >= 0) {
		ssize_t w = write(wake_pipe[1], "s", 1);
		(void)w;
	}
	errno = saved;
}

static void *writer_main(void *arg)
{
	mp_tls.guard++; /* everything this thread does is the profiler's */
	/* poll takes int milliseconds: longer intervals are waited out in steps of ~24 days. */
	uint64_t left_ms = (uint64_t)mp_config.interval * 1000;
	const int step = 2000000000;
	for (;;) {
		struct pollfd pfd = {wake_pipe[0], POLLIN, 0};
		int timeout = !mp_config.interval	 ? -1
			      : left_ms > (uint64_t)step ? step
							 : (int)left_ms;
		int r = poll(&pfd, 1, timeout);
		if (r == 0 && mp_config.interval && left_ms > (uint64_t)step) {
			left_ms -= (uint64_t)step;
			continue; /* not yet: a step of a long interval */
		}
		left_ms = (uint64_t)mp_config.interval * 1000;
		if (stopping)
			break;
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			char drain[64];
			ssize_t n = read(wake_pipe[0], drain, sizeof(drain));
			(void)n;
			if (stopping)
				break;
		}
		mp_tls.guard--;
		mp_dump_write(r > 0 ? "signal" : "interval");
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
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		mp_log("cannot create the dump pipe; MAPPROF_SIGNAL/MAPPROF_INTERVAL ignored");
		return;
	}
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
	ssize_t w = write(wake_pipe[1], "q", 1);
	(void)w;
	pthread_join(writer, NULL);
	running = 0;
}

/* The child of fork has no writer thread: start its own (the pipe is inherited and shared with
 * the parent, so the child gets a pipe of its own too). */
void mp_trigger_reset_child(void)
{
	mp_dump_reset_child();
	if (!running)
		return;
	running = 0;
	stopping = 0;
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		wake_pipe[0] = wake_pipe[1] = -1;
		return;
	}
	start_thread();
}
