/* SPDX-License-Identifier: MIT */
/* An object's function symbols sorted by address, for the symbol of an address in O(log n).
 * libdwfl's dwfl_module_addrinfo scans the whole symbol table on every call: 13,000 distinct
 * addresses in cc1plus (31,000 symbols) took 20 s of a report. */
#ifndef MP_SYMTAB_H
#define MP_SYMTAB_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>

typedef struct mp_symtab mp_symtab_t;

/* Reads mod's symbol table (.symtab, else .dynsym) once. Never NULL. */
mp_symtab_t *mp_symtab_new(Dwfl_Module *mod);
void mp_symtab_free(mp_symtab_t *t);

/* The name of the function symbol covering module address addr: the innermost sized symbol
 * that contains it, else the nearest sizeless one below it; NULL if none. Names live as long
 * as the module. */
const char *mp_symtab_at(const mp_symtab_t *t, Dwarf_Addr addr);

/* Whether a function symbol of that (linkage) name is defined in the table. */
bool mp_symtab_defines(const mp_symtab_t *t, const char *name);

#endif
