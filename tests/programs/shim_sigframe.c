/* SPDX-License-Identifier: MIT */
/* Allocations and map grows made by signal handlers (tests/integration/shim_stacks.sh). Below a
 * handler come the signal trampoline and the interrupted frame, whose pc is that of the
 * interrupted instruction, not a return address: a reader taking pc - 1 must still land in
 * it. Two interruptions, argv[1] times each: a ud2 that is trap_first's first instruction,
 * right after before_trap's last (pc - 1 would name before_trap), and a load that faults on
 * the line after a store (pc - 1 would name the store's line). Each handler allocates 4242
 * bytes (SIGILL) or 4243 (SIGSEGV), grows a map, and jumps back. */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "mapprof.h"

/* Hand-written so that nothing (a frame-pointer prologue) comes before the ud2, with CFI so
 * that libunwind can step out of it. */
__asm__(".text\n"
	".globl before_trap\n"
	".type before_trap, @function\n"
	"before_trap:\n"
	".cfi_startproc\n"
	"	xor %eax, %eax\n"
	"	ret\n"
	".cfi_endproc\n"
	".size before_trap, .-before_trap\n"
	".globl trap_first\n"
	".type trap_first, @function\n"
	"trap_first:\n"
	".cfi_startproc\n"
	"	ud2\n"
	"	ret\n"
	".cfi_endproc\n"
	".size trap_first, .-trap_first\n");
int before_trap(void);
void trap_first(void);

static sigjmp_buf jb;
void *volatile keep;
volatile int sink;
static char grown; /* the map the handlers grow */

static void handler(int sig)
{
	keep = malloc(sig == SIGILL ? 4242 : 4243);
	free(keep);
	MAPPROF_MAP_GROW(&grown, 8, 16, 9, 256, 0);
	siglongjmp(jb, 1);
}

__attribute__((noinline)) int fault_line(volatile int *p, int a)
{
	sink = a * 3;
	return *p; /* fault here */
}

__attribute__((noinline)) void call_trap(void)
{
	trap_first();
	sink = 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	for (int i = 0; i < n; i++) {
		if (!sigsetjmp(jb, 1))
			call_trap();
		if (!sigsetjmp(jb, 1))
			fault_line((volatile int *)(argc > 99 ? argv : NULL), i);
	}
	return before_trap();
}
