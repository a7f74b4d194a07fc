/* SPDX-License-Identifier: MIT */
/* The profiler's writes (a dump's file, a mapprof: line on stderr) must fail, not kill the
 * program: write(2) raises SIGPIPE on a pipe whose reader is gone (stderr into `| head`) and
 * SIGXFSZ past RLIMIT_FSIZE, and both end a process by default. Both are blocked on this
 * thread around the call; one that the call raised (pending now, not before) is taken back
 * with a zero-timeout sigtimedwait, so the program never sees it. One the program had
 * pending already stays pending (standard signals do not queue: ours merged into it). */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "mp.h"

ssize_t mp_write_quiet(int fd, const void *p, size_t n)
{
	sigset_t quiet, old, before;
	sigemptyset(&quiet);
	sigaddset(&quiet, SIGPIPE);
	sigaddset(&quiet, SIGXFSZ);
	pthread_sigmask(SIG_BLOCK, &quiet, &old);
	sigpending(&before);
	ssize_t w = write(fd, p, n);
	int e = errno;
	if (w < 0 && (e == EPIPE || e == EFBIG)) {
		sigset_t now;
		sigpending(&now);
		static const int sigs[] = {SIGPIPE, SIGXFSZ};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			if (!sigismember(&now, sigs[i]) || sigismember(&before, sigs[i]))
				continue;
			sigset_t one;
			sigemptyset(&one);
			sigaddset(&one, sigs[i]);
			struct timespec zero = {0, 0};
			while (sigtimedwait(&one, NULL, &zero) < 0 && errno == EINTR)
				;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}
