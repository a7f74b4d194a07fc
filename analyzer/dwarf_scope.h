// SPDX-License-Identifier: MIT
/* The scope-qualified names of C++ function DIEs without a linkage name (dwarf_scope.c). */
#ifndef MP_ANALYZER_DWARF_SCOPE_H
#define MP_ANALYZER_DWARF_SCOPE_H

#include <elfutils/libdw.h>

typedef struct mp_dwscope mp_dwscope_t; /* the scopes of the units met so far, per object */

mp_dwscope_t *mp_dwscope_new(void);
void mp_dwscope_free(mp_dwscope_t *x);
/* "ns::(anonymous namespace)::Class::plain", malloc'd, or NULL when die is not C++, is at file
 * scope, or the name would not fit. plain: the DIE's DW_AT_name. */
char *mp_dwscope_name(mp_dwscope_t *x, Dwarf_Die *die, const char *plain);

#endif
