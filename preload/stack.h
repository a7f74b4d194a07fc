/* SPDX-License-Identifier: MIT */
/* Call-stack capture for sampled allocations and map events. */
#ifndef MP_PRELOAD_STACK_H
#define MP_PRELOAD_STACK_H
#include <stdint.h>
#include "mp.h"

/* Finds the shim's own code range (frames inside it are dropped) and sets libunwind's
 * per-thread cache. Called once by init. */
MP_HIDDEN void mp_stack_init(void);
/* Fills out[0..] with up to max return addresses, innermost first, starting at the first
 * frame outside the shim. Guard held; takes no lock of ours; returns the count (0 on failure). */
MP_HIDDEN int mp_stack_capture(uintptr_t *out, int max);
/* fork: prepare waits for captures in flight and holds new ones back (a flag per thread, no
 * lock on the capture path); parent/child release. */
MP_HIDDEN void mp_stack_fork_prepare(void);
MP_HIDDEN void mp_stack_fork_parent(void);
MP_HIDDEN void mp_stack_fork_child(void);
#endif
