/* SPDX-License-Identifier: MIT */
/* The public API of include/mapprof.h that is not about maps. */
#include "mp.h"

/* Not from a signal handler that interrupted the profiler on this thread (guard held): the
 * dump would wait for locks the interrupted code holds, or read its half-written counts. */
MP_EXPORT int mapprof_dump(void)
{
	if (mp_state == MP_UNINIT)
		mp_init();
	if (mp_tls.guard)
		return -1;
	return mp_dump_write("mapprof_dump", MP_STATS_CHECK);
}
