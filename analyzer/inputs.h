/* SPDX-License-Identifier: MIT */
/* The set of dumps one report is made from: read, snapshots of one process reduced to the
 * latest, processes sorted so that output never depends on the order of the arguments. */
#ifndef MP_INPUTS_H
#define MP_INPUTS_H

#include <stdbool.h>
#include <stddef.h>

#include "dump_read.h"

typedef struct mp_inputs {
	mp_dump_t *dumps; /* one per process, sorted by (start_ns, pid, ppid) */
	size_t n, cap;
	size_t read;	  /* distinct dumps read (snapshots included; a file given twice once) */
	size_t skipped;	  /* files skipped under keep_going */
	uint64_t rate;	  /* the common sampling rate of the dumps that sample (0: none does) */
	bool mixed_rates; /* a grow profile's processes at several rates (rate: see mixed_rates) */
	mp_dump_totals_t totals; /* summed over processes */
} mp_inputs_t;

/* Reads every path. With keep_going an unreadable file is a warning; without, the first one
 * ends with its status (MP_EINPUT or MP_EIO, message printed). When check_rate is set (heap
 * profiles), dumps that sample at different rates are refused with MP_EINPUT; when not, rate
 * says how the totals' in-use figures sum (1 exact, 0 unknown, else estimates). */
int mp_inputs_load(mp_inputs_t *in, char *const *paths, size_t npaths, bool keep_going,
		   bool check_rate);
void mp_inputs_free(mp_inputs_t *in);

#endif
