/* SPDX-License-Identifier: MIT */
/* C++ names for function DIEs that have no DW_AT_linkage_name. GCC omits it for functions of
 * internal linkage (an anonymous namespace, a static function, a local class, a lambda), so
 * their DW_AT_name alone ("make") merged Alpha::make with Beta::make wherever they were inlined.
 * The name is rebuilt from the DIE's enclosing scopes and parameters, as the demangler shows the
 * function's symbol when it is not inlined. Used by symbolize.c; one per object. */
#ifndef MP_DWARF_NAME_H
#define MP_DWARF_NAME_H

#include <elfutils/libdw.h>

typedef struct mp_dwname mp_dwname_t;

/* The demangled form of a linkage name (an enclosing function's, for a local class), or the
 * name itself; the result must outlive the mp_dwname_t. */
typedef const char *(*mp_dwname_demangle_fn)(void *ctx, const char *mangled);

mp_dwname_t *mp_dwname_new(mp_dwname_demangle_fn demangle, void *ctx);
void mp_dwname_free(mp_dwname_t *n);

/* The qualified name of function DIE die (a subprogram or an inlined instance; its
 * DW_AT_abstract_origin and DW_AT_specification are followed to the declaration), as
 * "outer::(anonymous namespace)::Alpha::make(int) const". NULL when die is not in a C++ unit,
 * has no name, or has C language linkage (external without a linkage name: "main", an
 * extern "C" function, whose symbol is its plain name). Valid until mp_dwname_free. */
const char *mp_dwname_function(mp_dwname_t *n, Dwarf_Die *die);

#endif
