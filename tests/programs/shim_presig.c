/* SPDX-License-Identifier: MIT */
/* A SIGUSR1 handler installed from .preinit_array, before any library's constructor (the
 * shim's among them), then SIGUSR1 raised three times (tests/integration/shim_config.sh): with
 * MAPPROF_SIGNAL=USR1 the shim replaced the handler, which then never ran (black-box QA). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	(void)sig;
	got++;
}

static void install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(void) = install;

int main(void)
{
	for (int i = 0; i < 3; i++)
		raise(SIGUSR1);
	printf("handler got %d\n", (int)got);
	return 0;
}
