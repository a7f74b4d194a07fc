/* SPDX-License-Identifier: MIT */
/* The MAPPROF_* variables: secure_getenv, except before libc has set `environ`. A program's
 * .preinit_array functions run before libc's own initializer, and the first malloc there starts
 * the shim: every variable read as unset, and the program was profiled at the default settings
 * into the default place, silently. The environment the kernel laid out is then read from
 * /proc/self/environ. The caller has checked AT_SECURE: a set-uid process reads no variable. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fdgate.h"
#include "mp.h"

extern char **environ;

#define PREFIX "MAPPROF_"

/* The MAPPROF_ entries, each NUL-terminated; read once, during the shim's start (one thread).
 * lost: one of ours did not fit (longer than any valid value, or more than fit here). */
static char early[3 * 4096];
static size_t early_len;
static bool early_read, early_lost;

struct entry {
	char text[4096 + 64]; /* a MAPPROF_OUT of PATH_MAX, named */
	size_t len;
	bool other, ours_too_long; /* not ours (skipped), ours but longer than text */
};

/* One more byte of the entry being read: kept only while it may be one of ours. */
static void put_byte(struct entry *e, char c)
{
	if (c == 0) {
		bool ours = !e->other && e->len >= sizeof(PREFIX) - 1;
		if (ours && (e->ours_too_long || early_len + e->len + 1 > sizeof(early))) {
			early_lost = true;
		} else if (ours) {
			memcpy(early + early_len, e->text, e->len);
			early_len += e->len;
			early[early_len++] = 0;
		}
		e->len = 0;
		e->other = e->ours_too_long = false;
		return;
	}
	if (e->other || e->ours_too_long)
		return;
	if (e->len < sizeof(PREFIX) - 1 && c != PREFIX[e->len])
		e->other = true;
	else if (e->len < sizeof(e->text))
		e->text[e->len++] = c;
	else
		e->ours_too_long = true;
}

static void read_early(void)
{
	early_read = true;
	int fd = mp_fd_open("/proc/self/environ", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	static struct entry e;
	char buf[512];
	ssize_t got;
	while ((got = syscall(SYS_read, fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++)
			put_byte(&e, buf[i]);
	if (e.len || e.other || e.ours_too_long)
		put_byte(&e, 0); /* a last entry without its NUL */
	mp_fd_close(fd);
}

bool mp_env_lost(void)
{
	return early_lost;
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

/* The variables mapprof reads (the shim's, and mapprof-report's MAPPROF_DEBUGINFOD, which a
 * user may well export for both). */
static const char *const known[] = {"RATE",	"SEED", "DEPTH",       "OUT",	 "SIGNAL",
				    "INTERVAL", "MAPS", "STACK_CACHE", "UNWIND", "DEBUGINFOD"};

/* Whether the entry "MAPPROF_NAME=..." (or without '=') names one of ours. */
static bool is_known(const char *entry)
{
	const char *name = entry + sizeof(PREFIX) - 1;
	size_t n = strcspn(name, "=");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && !strncmp(known[i], name, n))
			return true;
	return false;
}

/* Room kept at the end of out for " and N more". */
#define MORE_ROOM 32
/* The longest name shown whole; a longer one is cut there and marked "...". */
#define NAME_SHOWN 60

/* Appends the name of entry (up to its '=') to out, comma-separated, while it fits. */
static void add_name(char *out, size_t cap, const char *entry, size_t *shown, size_t *more)
{
	size_t len = strlen(out), n = strcspn(entry, "="), m = n > NAME_SHOWN ? NAME_SHOWN : n;
	if (*shown < 4 && len + 2 + m + 3 + MORE_ROOM < cap) {
		if (len)
			memcpy(out + len, ", ", 2), len += 2;
		for (size_t i = 0; i < m; i++) /* a name may hold any byte but '=' */
			out[len + i] = entry[i] > 0x20 && entry[i] < 0x7f ? entry[i] : '?';
		len += m;
		if (m < n)
			memcpy(out + len, "...", 3), len += 3;
		out[len] = 0;
		++*shown;
	} else {
		++*more;
	}
}

size_t mp_env_unknown(char *out, size_t cap)
{
	size_t shown = 0, more = 0;
	if (cap)
		out[0] = 0;
	if (environ) {
		for (char **e = environ; *e; e++)
			if (!strncmp(*e, PREFIX, sizeof(PREFIX) - 1) && !is_known(*e))
				add_name(out, cap, *e, &shown, &more);
	} else {
		if (!early_read)
			read_early();
		for (size_t at = 0; at < early_len; at += strlen(early + at) + 1)
			if (!is_known(early + at))
				add_name(out, cap, early + at, &shown, &more);
	}
	if (more && cap) {
		size_t len = strlen(out);
		snprintf(out + len, cap - len, " and %zu more", more);
	}
	return shown + more;
}
