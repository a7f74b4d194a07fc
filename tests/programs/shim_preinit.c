/* SPDX-License-Identifier: MIT */
/* The first allocation in a .preinit_array function (tests/integration/shim_config.sh): it
 * starts the shim before libc has set environ, and every MAPPROF_* variable read as unset
 * (the dump went to the default place, at the default rate, silently). Prints "errno N": the
 * errno that malloc left there (0: the shim's start, libunwind's warm-up, left EAGAIN). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void *early;
static int early_errno;

static void pre(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	errno = 0;
	early = malloc(100);
	early_errno = errno;
}
__attribute__((section(".preinit_array"), used)) static void (*pre_p)(int, char **, char **) = pre;

int main(void)
{
	printf("errno %d\n", early_errno);
	free(early);
	return 0;
}
