/* SPDX-License-Identifier: MIT */
/* Addresses to function, file, line and inline chain, with elfutils libdw. One loaded ELF file
 * per distinct (path, build ID), whatever process it came from; addresses are ELF virtual
 * addresses (runtime pc minus the recorded load bias). Callers cache results per address (the
 * location table in profile.c), so each address is looked up once. */
#ifndef MP_SYMBOLIZE_H
#define MP_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mp_symbolizer mp_symbolizer_t;

typedef struct {
	const char *name;	 /* demangled when it was a C++ name */
	const char *system_name; /* as linked (mangled) */
	const char *file;	 /* as the compiler recorded it; "" if unknown */
	int64_t line, start_line;
} mp_sym_frame_t;

#define MP_SYM_MAX_INLINE 64

/* in: the dumps (NULL: none): an object without a build ID modified after the start of a
 * process that ran it is left unsymbolized, with a warning. */
struct mp_inputs;
mp_symbolizer_t *mp_symbolize_new(const struct mp_inputs *in);
void mp_symbolize_free(mp_symbolizer_t *s);

/* Registers an object (deduplicated by path and build ID) and returns its handle. Opens it on
 * first registration; a missing file or a build ID that differs from the dump's is warned about
 * once and the object stays unsymbolized. */
int mp_symbolize_object(mp_symbolizer_t *s, const char *path, const uint8_t *build_id,
			uint32_t build_id_len);
/* Whether the object gives DWARF (files, lines, inlines). */
bool mp_symbolize_has_dwarf(const mp_symbolizer_t *s, int obj);
/* The objects registered so far (handles 0..n-1), and each one's path. */
int mp_symbolize_count(const mp_symbolizer_t *s);
const char *mp_symbolize_path(const mp_symbolizer_t *s, int obj);
/* Whether obj (symbolized, not stale) defines a function of that linkage name itself. */
bool mp_symbolize_defines(mp_symbolizer_t *s, int obj, const char *name);
/* Whether obj's own references to that symbol are bound at run time (a dynamic relocation
 * names it: a PLT slot or a GOT entry), so that a preloaded definition takes its calls; false
 * for code that calls its own copy directly (an executable, -Bsymbolic, hidden symbols). */
bool mp_symbolize_binds_dynamically(mp_symbolizer_t *s, int obj, const char *name);

/* Fills out[0..] innermost first (inlined functions, then the function that holds the code) for
 * ELF virtual address vaddr of object obj; returns the number of frames, 0 when nothing is
 * known. Strings stay valid until mp_symbolize_free. */
int mp_symbolize(mp_symbolizer_t *s, int obj, uint64_t vaddr, mp_sym_frame_t *out, int max);

#endif
