/* SPDX-License-Identifier: MIT */
/* A per-CU index of the code ranges of functions and inlined instances, so that finding the
 * inline chain of an address costs a binary search instead of a walk of the whole CU (which is
 * what dwarf_getscopes does on every call). Used by symbolize.c; one index per object. */
#ifndef MP_DWARF_INDEX_H
#define MP_DWARF_INDEX_H

#include <elfutils/libdw.h>

typedef struct mp_dwidx mp_dwidx_t;

mp_dwidx_t *mp_dwidx_new(void);
void mp_dwidx_free(mp_dwidx_t *x);

/* Fills out[0..] with the function DIEs whose code contains addr (a DWARF address in cudie's
 * CU), innermost first: inlined instances, then the subprogram that holds them. Returns the
 * number found (0: no function covers addr). The CU is indexed on first use. */
int mp_dwidx_chain(mp_dwidx_t *x, Dwarf_Die *cudie, Dwarf_Addr addr, Dwarf_Die *out, int max);

#endif
