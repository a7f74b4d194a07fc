/* SPDX-License-Identifier: MIT */
/* Loaded objects and allocator statistics for the dump. Guard held, no lock of ours held. */
#ifndef MP_PRELOAD_OBJECTS_H
#define MP_PRELOAD_OBJECTS_H
#include <link.h>
#include "buf.h"
MP_HIDDEN void mp_objects_dump(struct mp_buf *b);

/* One OBJECTS entry (include/mapprof/DUMP_FORMAT.md): the object's executable segment. The
 * strings point into the loaded object (or exe): valid while it stays loaded. */
typedef struct mp_object {
	uint64_t bias, start, limit, offset;
	const char *path;
	const uint8_t *build_id;
	uint32_t path_len, build_id_len;
} mp_object_t;
#define MP_OBJECT_PATH_MAX 4096
/* Fills o from a dl_iterate_phdr entry, with its first executable segment (exe: room for the
 * main executable's path, or the file of an object loaded by a relative path; the path may
 * point there); false for an object without an executable segment. */
MP_HIDDEN bool mp_object_of(const struct dl_phdr_info *info, char exe[MP_OBJECT_PATH_MAX],
			    mp_object_t *o);
MP_HIDDEN void mp_object_put(struct mp_buf *b, const mp_object_t *o);
MP_HIDDEN void mp_allocstats_init(void);
/* The allocator's figures for the ALLOCATOR section, read before the dump lock is taken: the
 * read takes the allocator's locks, which jemalloc's fork handler holds while ours (run after
 * it) waits for the dump lock (a fork during a dump hung the process, black-box QA). */
#define MP_ALLOCSTATS_MAX 6
typedef struct {
	uint32_t n;
	const char *key[MP_ALLOCSTATS_MAX];
	uint64_t value[MP_ALLOCSTATS_MAX];
} mp_allocstats_t;
/* read false: none (a dump from a signal handler). No lock of ours held. */
MP_HIDDEN void mp_allocstats_read(mp_allocstats_t *s, bool read);
MP_HIDDEN void mp_allocstats_dump(struct mp_buf *b, const mp_allocstats_t *s);
#endif
