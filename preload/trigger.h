/* SPDX-License-Identifier: MIT */
/* Dumps on a signal (MAPPROF_SIGNAL) and every MAPPROF_INTERVAL seconds, from a writer thread. */
#ifndef MP_PRELOAD_TRIGGER_H
#define MP_PRELOAD_TRIGGER_H
#include "mp.h"
MP_HIDDEN void mp_trigger_start(void);
MP_HIDDEN void mp_trigger_stop(void);
MP_HIDDEN void mp_trigger_reset_child(void);
/* The program set its process limit low (setrlimit, fallible.c): the writer thread, which
 * counts against it, is stopped for good, as it would not have started under that limit. */
MP_HIDDEN void mp_trigger_scarce(void);
/* A thread of the program's ends (its exit destructor, thread.c): whether main has gone
 * (pthread_exit; this thread may be main) while the writer runs, so that the last thread to
 * end calls mp_trigger_last_gone, and the writer ends the process with it. */
MP_HIDDEN bool mp_trigger_watching(void);
MP_HIDDEN void mp_trigger_last_gone(void);
MP_HIDDEN void mp_dump_reset_child(void);
/* fork: no dump may be in flight (it calls the loader); see init.c. */
MP_HIDDEN void mp_dump_fork_prepare(void);
MP_HIDDEN void mp_dump_fork_parent(void);
#endif
