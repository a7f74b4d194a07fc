/* SPDX-License-Identifier: MIT */
/* Unbiasing sampled counts (the reader's half of preload/sample.c). */
#ifndef MP_ESTIMATE_H
#define MP_ESTIMATE_H

#include <stdint.h>

/* The factor by which a count of sampled objects of `size` bytes at `rate` is multiplied to give
 * an unbiased estimate of the objects allocated (see estimate.c for the derivation). */
double mp_estimate_scale(uint64_t size, uint64_t rate);

/* The objects count * scale stands for, as an integer: floor(count * scale + u), saturating at
 * INT64_MAX. With u uniform in [0, 1) and independent of the count the integer is itself an
 * unbiased estimate; rounding to the nearest (u = 0.5) is not: one sampled 1 MiB object at the
 * default rate stands for 1.157 objects and would always read 1, so a profile of large objects,
 * each at its own stack or size, would read 14% low. Exact (rate 1) counts are returned as
 * they are. */
int64_t mp_estimate_objects(uint64_t count, uint64_t size, uint64_t rate, double u);
/* The same estimate times size, rounded once (not objects * size, which would round twice). */
int64_t mp_estimate_bytes(uint64_t count, uint64_t size, uint64_t rate);

#endif
