/* SPDX-License-Identifier: MIT */
/* A growable byte buffer in arena memory, for serializing dump sections. */
#ifndef MP_PRELOAD_BUF_H
#define MP_PRELOAD_BUF_H
#include <stddef.h>
#include <stdint.h>
#include "mp.h"

struct mp_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed; /* latched: out of memory; the dump is abandoned */
};

MP_HIDDEN void mp_buf_put(struct mp_buf *b, const void *p, size_t n);
MP_HIDDEN void mp_buf_u16(struct mp_buf *b, uint16_t v);
MP_HIDDEN void mp_buf_u32(struct mp_buf *b, uint32_t v);
MP_HIDDEN void mp_buf_u64(struct mp_buf *b, uint64_t v);
MP_HIDDEN void mp_buf_str(struct mp_buf *b, const char *s, size_t n);
/* Opens a section (type, reserved, length placeholder); returns the offset to close it at. */
MP_HIDDEN size_t mp_buf_section_begin(struct mp_buf *b, uint32_t type);
MP_HIDDEN void mp_buf_section_end(struct mp_buf *b, size_t at);
/* A u32 whose value is known only later (a count, a length): reserve it, then fill it in. */
MP_HIDDEN size_t mp_buf_u32_later(struct mp_buf *b);
MP_HIDDEN void mp_buf_u32_at(struct mp_buf *b, size_t at, uint32_t v);
MP_HIDDEN void mp_buf_release(struct mp_buf *b);
/* Sets aside the address space of one dump buffer (mp_init). */
MP_HIDDEN void mp_buf_init(void);
#endif
