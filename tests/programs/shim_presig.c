/* SPDX-License-Identifier: MIT */
/* A SIGUSR1 handler installed from .preinit_array, before any library's constructor (the
 * shim's among them), then SIGUSR1 raised three times (tests/integration/shim_config.sh): with
 * MAPPROF_SIGNAL=USR1 the shim replaced the handler, which then never ran (black-box QA).
 * PRESIG=reset: the handler is SA_SIGINFO | SA_RESETHAND and runs once at preinit, which leaves
 * the default action with SA_SIGINFO still set: no handler of the program's, so the shim's
 * goes in; main prints whether USR1 is caught now instead of raising it. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	got++;
}

/* glibc passes preinit functions main's arguments; environ is not set up yet (libc's own
 * constructor comes later), so the mode is read from envp. */
static void install(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	bool reset = false;
	for (char **e = envp; e && *e; e++)
		reset |= !strcmp(*e, "PRESIG=reset");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | (reset ? SA_RESETHAND : 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (reset)
		raise(SIGUSR1);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **,
									      char **) = install;

int main(void)
{
	const char *mode = getenv("PRESIG");
	if (mode && !strcmp(mode, "reset")) {
		struct sigaction now;
		sigaction(SIGUSR1, NULL, &now);
		printf("handler got %d, USR1 %s\n", (int)got,
		       now.sa_handler == SIG_DFL ? "default" : "caught");
		return 0;
	}
	for (int i = 0; i < 3; i++)
		raise(SIGUSR1);
	printf("handler got %d\n", (int)got);
	return 0;
}
