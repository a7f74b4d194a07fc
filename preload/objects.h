/* SPDX-License-Identifier: MIT */
/* Loaded objects and allocator statistics for the dump. Guard held, no lock of ours held. */
#ifndef MP_PRELOAD_OBJECTS_H
#define MP_PRELOAD_OBJECTS_H
#include "buf.h"
MP_HIDDEN void mp_objects_dump(struct mp_buf *b);
MP_HIDDEN void mp_allocstats_dump(struct mp_buf *b);
#endif
