/* SPDX-License-Identifier: MIT */
/* Descriptors the profiler holds for a moment (a dump's file, a /proc read), kept out of the
 * program's close family (fdgate.c). */
#ifndef MP_PRELOAD_FDGATE_H
#define MP_PRELOAD_FDGATE_H
#include <sys/types.h>
#include "mp.h"

/* The profiler's open and close of a short-lived descriptor (raw system calls: usable inside
 * malloc). mp_fd_open returns the descriptor or -1 with errno set. */
MP_HIDDEN int mp_fd_open(const char *path, int flags, mode_t mode);
MP_HIDDEN int mp_fd_close(int fd);
/* Around another call of the profiler's that creates descriptors (libunwind's pipe2): none of
 * the program's range closes or dups runs meanwhile. mp_fd_leave keeps errno. */
MP_HIDDEN void mp_fd_enter(void);
MP_HIDDEN void mp_fd_leave(void);
/* The close family of the program (unwfd.c), around the real call: a close or dup onto fd
 * waits while the profiler holds fd; a close of a range waits until the profiler holds none
 * (and opens none until the call is done). No wait inside the profiler (guard held). */
MP_HIDDEN void mp_fd_single(int fd);
MP_HIDDEN bool mp_fd_range_begin(void);
MP_HIDDEN void mp_fd_range_end(bool began);
/* Runs fn(arg) with a private copy of the process's descriptor table and returns its result:
 * whatever it opens takes no number of the program's (which opens the lowest free one, and
 * relies on that: close(1) then open() to redirect stdout). On a thread of its own, made
 * without CLONE_FILES (this one waits for it), all signals blocked; fn runs directly where
 * that thread cannot be made (a seccomp filter, a thread limit, valgrind), its files moved to
 * high numbers at once.
 * fn may use the raw-system-call helpers above and the calling thread's TLS, not libc state
 * that knows threads (no malloc, no stdio, no locks but the profiler's). */
MP_HIDDEN int mp_fd_private(int (*fn)(void *), void *arg);
/* The same for calls that may come from every thread at once (a new thread's look at its stack
 * mapping): they wait asleep for one of their slots, and leave one free for the others. */
MP_HIDDEN int mp_fd_private_bulk(int (*fn)(void *), void *arg);
/* Init, single-threaded: whether mp_fd_private may make its thread here (not under valgrind,
 * which ends a process at a clone it does not know). */
MP_HIDDEN void mp_fd_init(void);
/* Whether a thread of the profiler's could cost the program one of its own: a process limit
 * (RLIMIT_NPROC, which counts threads) that is low. fdprivate.c. */
MP_HIDDEN bool mp_threads_scarce(void);
/* Nonzero on mp_fd_private's thread (fdprivate.c): mp_fd_open and mp_fd_close skip the gate. */
extern MP_HIDDEN __thread uint32_t mp_fd_in_private __attribute__((tls_model("initial-exec")));
/* Fork child: no private call is in flight there. */
MP_HIDDEN void mp_fd_private_reset_child(void);
/* Fork child: nothing is held there. */
MP_HIDDEN void mp_fd_reset_child(void);
#endif
