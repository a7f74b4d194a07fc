// SPDX-License-Identifier: MIT
/* libFuzzer target for the dump parser (analyzer/dump_read.c): any input must either parse or
 * be refused with MP_EINPUT and a message that names an offset inside the input; never a crash,
 * a leak or an allocation larger than the input allows. Built and run by scripts/fuzz.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_read.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mp_dump_t d;
	char err[512] = "";
	int rc = mp_dump_parse(data, size, "fuzz", &d, err, sizeof(err));
	if (rc == MP_OK) {
		/* touch what the builders will: every stack index must be valid */
		for (uint32_t i = 0; i < d.nsamples; i++)
			if (d.samples[i].stack >= d.nstacks ||
			    mp_dump_stack_len(&d, d.samples[i].stack) == 0)
				abort();
		/* and every pc's object, through the unload keys */
		for (uint32_t s = 0; s < d.nstacks; s++)
			for (uint32_t k = 0; k < mp_dump_stack_len(&d, s); k++)
				if (mp_dump_object_at(&d, s, mp_dump_stack_pcs(&d, s)[k]) >=
				    (int64_t)d.nobjects)
					abort();
	} else {
		size_t off;
		if (rc != MP_EINPUT || sscanf(err, "fuzz: offset %zu: ", &off) != 1 || off > size)
			abort();
	}
	mp_dump_free(&d);
	return 0;
}
