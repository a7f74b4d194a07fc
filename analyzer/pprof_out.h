/* SPDX-License-Identifier: MIT */
/* Writing the model as a gzip-compressed profile.proto message (what go tool pprof reads). */
#ifndef MP_PPROF_OUT_H
#define MP_PPROF_OUT_H

#include <stdio.h>

#include "profile.h"

/* Encodes p into f. Returns MP_OK or MP_EIO (message printed, naming `name`). */
int mp_pprof_write(const mp_profile_t *p, FILE *f, const char *name);

#endif
