/* SPDX-License-Identifier: MIT */
/* Dumps on a signal (MAPPROF_SIGNAL) and every MAPPROF_INTERVAL seconds, from a writer thread. */
#ifndef MP_PRELOAD_TRIGGER_H
#define MP_PRELOAD_TRIGGER_H
#include <signal.h>
#include "mp.h"
MP_HIDDEN void mp_trigger_start(void);
MP_HIDDEN void mp_trigger_stop(void);
MP_HIDDEN void mp_trigger_reset_child(void);
/* Around an exec with environment envp: blocks MAPPROF_SIGNAL in this thread when the new
 * image will take it over (the same MAPPROF_SIGNAL, this library in LD_PRELOAD); true if so,
 * with the mask to put back (exec_end) should the exec fail. */
MP_HIDDEN bool mp_trigger_exec_begin(char *const envp[], sigset_t *old);
MP_HIDDEN void mp_trigger_exec_end(const sigset_t *old);
MP_HIDDEN void mp_dump_reset_child(void);
/* fork: no dump may be in flight (it calls the loader); see init.c. */
MP_HIDDEN void mp_dump_fork_prepare(void);
MP_HIDDEN void mp_dump_fork_parent(void);
#endif
