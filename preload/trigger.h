/* SPDX-License-Identifier: MIT */
/* Dumps on a signal (MAPPROF_SIGNAL) and every MAPPROF_INTERVAL seconds, from a writer thread. */
#ifndef MP_PRELOAD_TRIGGER_H
#define MP_PRELOAD_TRIGGER_H
#include "mp.h"
MP_HIDDEN void mp_trigger_start(void);
MP_HIDDEN void mp_trigger_stop(void);
MP_HIDDEN void mp_trigger_reset_child(void);
/* A thread of the program's ends (its exit destructor, thread.c). */
MP_HIDDEN void mp_trigger_thread_gone(void);
MP_HIDDEN void mp_dump_reset_child(void);
/* fork: no dump may be in flight (it calls the loader); see init.c. */
MP_HIDDEN void mp_dump_fork_prepare(void);
MP_HIDDEN void mp_dump_fork_parent(void);
#endif
