/* SPDX-License-Identifier: MIT */
/* The public API of include/mapprof.h that is not about maps. */
#include "mp.h"

MP_EXPORT int mapprof_dump(void)
{
	if (mp_state == MP_UNINIT)
		mp_init();
	return mp_dump_write("mapprof_dump");
}
