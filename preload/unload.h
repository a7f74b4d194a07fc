/* SPDX-License-Identifier: MIT */
/* Objects unloaded by dlclose, for the stacks captured through them (unload.c). */
#ifndef MP_PRELOAD_UNLOAD_H
#define MP_PRELOAD_UNLOAD_H
#include "buf.h"
#include "mp.h"

/* Finds the next dlclose; called once by init. */
MP_HIDDEN void mp_unload_init(void);
/* The key of a stack being interned: the highest unload epoch among the retired ranges that
 * cover one of its pcs, 0 when none does (one load when nothing was ever unloaded). No lock. */
MP_HIDDEN uint32_t mp_unload_key(const uintptr_t *pc, int n);
/* The UNLOADED section, when something was unloaded. Guard held. */
MP_HIDDEN void mp_unload_dump(struct mp_buf *b);
MP_HIDDEN void mp_unload_reset_child(void);
#endif
