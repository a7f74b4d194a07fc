/* SPDX-License-Identifier: MIT */
/* A privilege drop the way setpriv(1) makes it (tests/integration/shim_config.sh, as root):
 * keep the capabilities across setresuid, raise CAP_SETGID again in this thread's effective set
 * (capset is per thread), then setresgid, or with the argument "initgroups" initgroups (as
 * `setpriv --reuid=65534 --init-groups` does; glibc's initgroups calls its own setgroups). glibc
 * makes every thread repeat a set*id call and aborts when one fails: a profiler thread without
 * the raised capability must not be there. */
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	free(malloc(64));
	if (prctl(PR_SET_KEEPCAPS, 1) != 0 || setresuid(65534, 65534, 65534) != 0)
		return 2;
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};
	if (syscall(SYS_capget, &h, d) != 0)
		return 3;
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (syscall(SYS_capset, &h, d) != 0)
		return 4;
	if (argc > 1 && strcmp(argv[1], "initgroups") == 0) {
		if (initgroups("nobody", 65534) != 0)
			return 6;
	} else if (setresgid(65534, 65534, 65534) != 0) {
		return 5;
	}
	printf("dropped to uid %d gid %d\n", (int)getuid(), (int)getgid());
	return 0;
}
