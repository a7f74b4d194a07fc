/* SPDX-License-Identifier: MIT */
/* Process-wide sample statistics kept next to the tables (see record.c). */
#ifndef MP_PRELOAD_RECORD_H
#define MP_PRELOAD_RECORD_H
#include "mp.h"

struct mp_sample_stats {
	uint64_t sampled, dropped, inuse_est, peak_inuse_est;
};
/* Every table lock held (mp_table_lock_all). */
MP_HIDDEN void mp_record_stats_locked(struct mp_sample_stats *out);
/* Fork child. */
MP_HIDDEN void mp_record_reset(void);
#endif
