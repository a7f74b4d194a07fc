/* SPDX-License-Identifier: MIT */
/* A signal handler that realigns its stack and holds a variable-length array: GCC pushes a copy
 * of its return address (the signal trampoline's) and of rbp below its locals, so the
 * frame-pointer walk meets the trampoline's address where no signal frame follows; it read the
 * words above as the kernel's ucontext and walked on from a garbage pc and rbp
 * (tests/integration/shim_stacks.sh, MAPPROF_UNWIND=fp). The handler allocates 5 times. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile keep;
volatile int vn = 40;

__attribute__((noinline)) void use(char *p, char *q)
{
	__asm__ volatile("" : : "r"(p), "r"(q) : "memory");
}

static void realigned_handler(int sig)
{
	(void)sig;
	_Alignas(64) char buf[64];
	char vla[vn];
	use(buf, vla);
	keep = malloc(4321);
	free(keep);
}

__attribute__((noinline)) void raiser(void)
{
	raise(SIGUSR1);
	__asm__ volatile("");
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = realigned_handler;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < 5; i++)
		raiser();
	puts("ok");
	return 0;
}
