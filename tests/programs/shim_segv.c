/* SPDX-License-Identifier: MIT */
/* A classic crash handler (tests/integration/shim_life.sh): on SIGSEGV (here a stack overflow)
 * print a line and _exit(3), on a small alternate signal stack (argv[1] bytes). The profiler's
 * _exit must not need more stack than that. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void on_segv(int sig)
{
	(void)sig;
	if (write(2, "crashed\n", 8) < 0)
		_exit(4);
	_exit(3);
}
static int depth(int n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	return n ? depth(n - 1) + pad[0] : 0;
}
int main(int argc, char **argv)
{
	size_t sz = argc > 1 ? (size_t)atoi(argv[1]) : 16384;
	stack_t ss = {.ss_sp = malloc(sz), .ss_size = sz};
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);
	for (int i = 0; i < 100; i++)
		free(malloc(50));
	return depth(1 << 30);
}
