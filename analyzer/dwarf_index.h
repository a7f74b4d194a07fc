/* SPDX-License-Identifier: MIT */
/* A per-CU index of the code ranges of functions and inlined instances, so that finding the
 * inline chain of an address costs a binary search instead of a walk of the whole CU (which is
 * what dwarf_getscopes does on every call). Used by symbolize.c; one index per object. */
#ifndef MP_DWARF_INDEX_H
#define MP_DWARF_INDEX_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

typedef struct mp_dwidx mp_dwidx_t;

mp_dwidx_t *mp_dwidx_new(void);
void mp_dwidx_free(mp_dwidx_t *x);

/* Fills out[0..] with the function DIEs whose code contains addr (a DWARF address in cudie's
 * CU), innermost first: inlined instances, then the subprogram that holds them. Returns the
 * number found (0: no function covers addr). The CU is indexed on first use. A chain deeper than
 * max keeps its innermost max - 1 and the subprogram (last); *cut is then the DIE just inside
 * the subprogram, whose call line is the subprogram's line (else NULL). */
int mp_dwidx_chain(mp_dwidx_t *x, Dwarf_Die *cudie, Dwarf_Addr addr, Dwarf_Die *out, int max,
		   const Dwarf_Die **cut);

/* The CU holding module address addr, and its bias: libdwfl's lookup, which reads
 * .debug_aranges only in elfutils 0.188, when the CU it names does hold addr; else the CUs' own
 * ranges (clang writes no aranges by default; Go's compiler none for Go code), indexed on first
 * use. NULL if no CU covers addr. */
Dwarf_Die *mp_dwidx_cu(mp_dwidx_t *x, Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias);
/* The unit holding cudie's functions: the split unit (a .dwo file, -gsplit-dwarf) of a
 * skeleton CU when libdw finds it (in mem), else cudie itself. The skeleton keeps the line
 * table; the split unit has the functions, inlined instances and their call-site files.
 * *missing (if given) is set when cudie is a skeleton whose split unit was not found. mod is
 * the module cudie belongs to (where libdw looks for the .dwo first). */
Dwarf_Die *mp_dwidx_unit(Dwfl_Module *mod, Dwarf_Die *cudie, Dwarf_Die *mem, bool *missing);
/* The line table's line for addr (a DWARF address in cudie's CU) and its file; 0 and NULL if
 * none. For the same objects: dwfl_module_getsrc finds the CU through the aranges too. */
int mp_dwidx_line(Dwarf_Die *cudie, Dwarf_Addr addr, const char **file);

#endif
