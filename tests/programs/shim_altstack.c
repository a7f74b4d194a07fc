/* SPDX-License-Identifier: MIT */
/* A signal handler on an alternate stack of argv[1] bytes (tests/integration/shim_life.sh)
 * that does argv[2]: "dump" (mapprof_dump, then returns), "exit" (exit(4)), "_exit" (_exit(3)),
 * "malloc" (64 allocations, then returns) or "exec" (/bin/echo); registered with
 * SS_AUTODISARM if argv[3] is "autodisarm" (the kernel then reports it disabled inside the
 * handler). A dump there needs more stack than a small one has: it is skipped with a line, never
 * a crash. The stack has a guard page below it: running off it is a crash, not a quiet write. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mapprof.h"

static const char *what;
static void *keep[64];

static void on_term(int sig)
{
	(void)sig;
	if (strcmp(what, "dump") == 0) {
		int rc = MAPPROF_DUMP();
		if (write(1, rc == 0 ? "dumped\n" : "not dumped\n", rc == 0 ? 7 : 11) < 0)
			_exit(5);
	} else if (strcmp(what, "exit") == 0) {
		exit(4);
	} else if (strcmp(what, "_exit") == 0) {
		_exit(3);
	} else if (strcmp(what, "malloc") == 0) {
		for (int i = 0; i < 64; i++)
			keep[i] = malloc(100 + (size_t)i);
	} else if (strcmp(what, "exec") == 0) {
		char *argv[] = {"/bin/echo", "exec'd", NULL};
		execv(argv[0], argv);
		_exit(9);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	size_t size = strtoul(argv[1], NULL, 0);
	what = argv[2];
	for (int i = 0; i < 100; i++)
		free(malloc(1000));
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *map =
	    mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map, page, PROT_NONE) != 0)
		return 2;
	stack_t ss = {.ss_sp = map + page, .ss_size = size, .ss_flags = 0};
	if (argc > 3 && strcmp(argv[3], "autodisarm") == 0)
		ss.ss_flags = (int)(1U << 31); /* SS_AUTODISARM (linux/signal.h) */
	if (sigaltstack(&ss, NULL) != 0)
		return 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGTERM, &sa, NULL);
	raise(SIGTERM);
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	puts("back");
	return 0;
}
