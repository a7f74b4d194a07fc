/* SPDX-License-Identifier: MIT */
/* The MAPPROF_* variables: secure_getenv, except before libc has set `environ`. A program's
 * .preinit_array functions run before libc's own initializer, and the first malloc there starts
 * the shim: every variable read as unset, and the program was profiled at the default settings
 * into the default place, silently. The environment the kernel laid out is then read from
 * /proc/self/environ. The caller has checked AT_SECURE: a set-uid process reads no variable. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fdgate.h"
#include "mp.h"

extern char **environ;

#define PREFIX "MAPPROF_"

/* The MAPPROF_ entries, each NUL-terminated; read once, during the shim's start (one thread). */
static char early[3 * 4096];
static size_t early_len;
static bool early_read;

/* One more byte of the entry being read (cur, len): kept only while it may be one of ours. */
static void put_byte(char c, char *cur, size_t *len, size_t cap)
{
	if (c == 0) {
		if (*len >= sizeof(PREFIX) - 1 && *len < cap &&
		    early_len + *len + 1 <= sizeof(early)) {
			memcpy(early + early_len, cur, *len);
			early_len += *len;
			early[early_len++] = 0;
		}
		*len = 0;
		return;
	}
	if (*len < sizeof(PREFIX) - 1 && c != PREFIX[*len])
		*len = cap; /* not ours: skipped to its end */
	else if (*len < cap)
		cur[(*len)++] = c;
}

static void read_early(void)
{
	early_read = true;
	int fd = mp_fd_open("/proc/self/environ", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	static char cur[4096 + 64]; /* a MAPPROF_OUT of PATH_MAX, named */
	size_t len = 0;
	char buf[512];
	ssize_t got;
	while ((got = syscall(SYS_read, fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++)
			put_byte(buf[i], cur, &len, sizeof(cur));
	put_byte(0, cur, &len, sizeof(cur)); /* a last entry without its NUL */
	mp_fd_close(fd);
}

const char *mp_getenv(const char *name)
{
	if (environ)
		return secure_getenv(name);
	if (!early_read)
		read_early();
	size_t n = strlen(name);
	for (size_t at = 0; at < early_len; at += strlen(early + at) + 1)
		if (!strncmp(early + at, name, n) && early[at + n] == '=')
			return early + at + n + 1;
	return NULL;
}
