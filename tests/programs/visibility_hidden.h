/* SPDX-License-Identifier: MIT */
/* Force-included (-include) into maps_api.c and maps_uthash.c for their *_hidden builds: the
 * headers under a library's usual `#pragma GCC visibility push(hidden)` (the system headers
 * before it, as such code has them), which made their weak declarations hidden, bound to 0 at
 * link time, and every map unseen under the shim. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC visibility push(hidden)
#include "mapprof/uthash.h"
#pragma GCC visibility pop
