/* SPDX-License-Identifier: MIT */
/* A hand-written frame whose CFA is rbp + 24 (rbx pushed after rbp, before rbp is set) and whose
 * size its caller chooses, for the shim's stack cache: via_a and via_b (frames of different
 * sizes) both call varf, which moves its stack pointer to the same address before calling leaf,
 * so leaf runs at the same stack address from both. The slot where via_a's return address was
 * still holds it when via_b comes (inside varf's uninitialised area): only varf's rbp tells the
 * stacks apart. Prints its own count per caller. Usage: shim_varframe [RUNS=100] */
#include <stdio.h>
#include <stdlib.h>

#define NI     __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory")

void *varf(size_t n, void *target_sp);
__asm__(".text\n"
	".globl varf\n"
	".type varf, @function\n"
	"varf:\n"
	".cfi_startproc\n"
	"pushq %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"pushq %rbx\n"
	".cfi_def_cfa_offset 24\n"
	".cfi_offset %rbx, -24\n"
	"movq %rsp, %rbp\n"
	".cfi_def_cfa_register %rbp\n" /* CFA = rbp + 24 */
	"movq %rsi, %rsp\n"
	"andq $-16, %rsp\n"
	"call leaf\n"
	"movq %rbp, %rsp\n"
	".cfi_def_cfa_register %rsp\n"
	"popq %rbx\n"
	".cfi_def_cfa_offset 16\n"
	"popq %rbp\n"
	".cfi_def_cfa_offset 8\n"
	"ret\n"
	".cfi_endproc\n"
	".size varf, .-varf\n");

NI void esc(void *b)
{
	__asm__ volatile("" ::"r"(b) : "memory");
}
NI void *leaf(size_t n)
{
	void *p = malloc(n);
	KEEP();
	return p;
}
static char *target;
static int a, b;
static volatile int order[8] = {0, 0, 0, 0, 1, 1, 1, 1};
NI void *via_a(size_t n)
{
	char pad[256];
	a++;
	esc(pad);
	void *p = varf(n, target);
	KEEP();
	return p;
}
NI void *via_b(size_t n)
{
	char pad[16];
	b++;
	esc(pad);
	void *p = varf(n, target);
	KEEP();
	return p;
}
/* One call site for both callers. */
NI void *call_it(void *(*fn)(size_t), size_t n)
{
	void *p = fn(n);
	esc(p);
	return p;
}

static void *ps[100000];

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 100, k = 0;
	if (runs < 1 || runs > 10000)
		runs = 100;
	target = (char *)__builtin_frame_address(0) - 1024; /* below every caller's frame */
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < 8; i++) /* 4 via_a, then 4 via_b */
			ps[k++] = call_it(order[i] ? via_b : via_a, 24);
	for (int i = 0; i < k; i++)
		free(ps[i]);
	printf("via_a %d\nvia_b %d\n", a, b);
	return 0;
}
