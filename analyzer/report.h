/* SPDX-License-Identifier: MIT */
/* Text outputs of a built profile: --top (report_top.c), --folded (report_folded.c) and --json
 * (report_json.c), plus the frame naming they share (report_names.c). The --maps report of
 * issue 6 will join them here with the same shape: (FILE *, inputs, info) -> status. */
#ifndef MP_REPORT_H
#define MP_REPORT_H

#include <stdio.h>

#include "inputs.h"
#include "profile.h"

typedef struct {
	const char *profile; /* "heap" or "grow" */
	const mp_inputs_t *in;
	int sample_index;	   /* the value the text reports show */
	struct mp_symbolizer *sym; /* for --maps, which symbolizes site stacks itself */
} mp_report_info_t;

int mp_report_top(FILE *f, const mp_profile_t *p, const mp_report_info_t *info, int nrows);
int mp_report_folded(FILE *f, const mp_profile_t *p, const mp_report_info_t *info);
int mp_report_json(FILE *f, const mp_profile_t *p, const mp_report_info_t *info);

/* Shared: the note, after the totals, that an in-use estimate above the bytes allocated comes
 * from few samples (nothing when it does not, or when the figures are exact). */
void mp_report_inuse_note(FILE *f, const mp_inputs_t *in, const char *indent);
/* Shared: "12.5MB"-style rendering of a value in unit (bytes, nanoseconds, count). */
void mp_report_value(char *buf, size_t n, int64_t v, const char *unit);
/* The display name of line k of location id (function name, or the address and object). */
/* Room for a frame's name without symbols: a file name (NAME_MAX) and "+0x" and an offset. */
#define MP_FRAME_NAME_MAX 288
const char *mp_report_frame_name(const mp_profile_t *p, uint64_t loc, uint32_t k, char *buf,
				 size_t n);
/* One line on err for each object of the dumps (those symbolized so far, and the executables)
 * with its own copy of libstdc++'s rehash policy (-static-libstdc++): grows the shim missed. */
struct mp_symbolizer;
void mp_report_policy_copies(FILE *err, const mp_inputs_t *in, struct mp_symbolizer *sym);
/* Writes a name into a line-oriented report: control characters (a newline in a file name)
 * become '?', and in --folded ';', which separates frames there, becomes ':'. */
void mp_report_put_name(FILE *f, const char *name, bool folded);

#endif
