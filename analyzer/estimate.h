/* SPDX-License-Identifier: MIT */
/* Unbiasing sampled counts (the reader's half of preload/sample.c). */
#ifndef MP_ESTIMATE_H
#define MP_ESTIMATE_H

#include <stdint.h>

/* The factor by which a count of sampled objects of `size` bytes at `rate` is multiplied to give
 * an unbiased estimate of the objects allocated (see estimate.c for the derivation). */
double mp_estimate_scale(uint64_t size, uint64_t rate);

/* Rounds count * scale to the nearest integer, saturating at INT64_MAX. */
int64_t mp_estimate_objects(uint64_t count, uint64_t size, uint64_t rate);
/* The same estimate times size, rounded once (not objects * size, which would round twice). */
int64_t mp_estimate_bytes(uint64_t count, uint64_t size, uint64_t rate);

#endif
