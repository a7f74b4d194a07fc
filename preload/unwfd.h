/* SPDX-License-Identifier: MIT */
/* libunwind's memory-validation pipe, kept away from the program's descriptors (unwfd.c). */
#ifndef MP_PRELOAD_UNWFD_H
#define MP_PRELOAD_UNWFD_H
#include "mp.h"

/* Finds libunwind's code and the next pipe2; called once by init, before any unwind. */
MP_HIDDEN void mp_unwfd_init(void);
/* Guard held, before an unwind. True when libunwind may run: both ends of its pipe are the
 * pipe it opened, or closed. False when the program holds a descriptor of its own at either
 * number. Two fstat calls only while the program may have closed them (and every 256 unwinds
 * of a thread); otherwise a thread-local countdown. */
MP_HIDDEN bool mp_unwfd_safe(void);
/* The same without the line (an unwind that is no stack capture). */
MP_HIDDEN bool mp_unwfd_safe_quiet(void);
#endif
