/* SPDX-License-Identifier: MIT */
/* The slow paths behind fast.c's entry points: everything the fast path does not handle
 * (first calls, bootstrap, the guard, sample points, tracked frees, NULL). */
#ifndef MP_PRELOAD_SLOW_H
#define MP_PRELOAD_SLOW_H
#include "mp.h"

/* interpose.c */
MP_HIDDEN void *mp_malloc_slow(size_t size);
MP_HIDDEN void mp_free_slow(void *p);
/* cxx.c: libstdc++'s operators are next, so operator new/delete may call malloc/free directly.
 * Written once when the operators are resolved. */
extern MP_HIDDEN bool mp_cxx_direct;
/* Init: another allocator takes malloc's calls (listed before us, or the program's own): the
 * operators go to the C++ runtime's, which call that allocator, and count nothing. Calling
 * malloc directly, as the direct path does, reached the one after us instead (glibc's, past
 * libc_malloc_debug listed first), and counted only the operators' calls. */
MP_HIDDEN void mp_cxx_others_first(void);
MP_HIDDEN void *mp_cxx_new_slow(size_t n);
MP_HIDDEN void mp_cxx_delete_slow(void *p);
#endif
