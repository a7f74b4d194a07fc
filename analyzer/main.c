// SPDX-License-Identifier: MIT
/* mapprof-report: command line and orchestration only. Reads dumps (inputs.c), builds a heap or
 * grow profile (heap.c, grow.c), writes it as pprof (pprof_out.c) or as text (report_*.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builders.h"
#include "churn.h"
#include "inputs.h"
#include "pprof_out.h"
#include "profile.h"
#include "report.h"
#include "symbolize.h"
#include "util.h"

/* What to write. A new output (issue 6's --maps) is one enum value, one flag in parse_args and
 * one case in write_output; it gets the same inputs, symbolizer and output stream. */
enum mode { MODE_PPROF, MODE_TOP, MODE_FOLDED, MODE_JSON };

typedef struct {
	const char *output; /* NULL: stdout */
	const char *profile;
	const char *sample_index;
	enum mode mode;
	int top_n;
	bool keep_going;
	bool maps; /* --maps: the churn report (text, or JSON with --json) */
	char **dumps;
	size_t ndumps;
} opts_t;

static const char usage_text[] =
    "usage: mapprof-report [options] DUMP...\n"
    "Folds mapprof dumps (mapprof.*.mprof) into a pprof profile or a text report.\n"
    "\n"
    "  -o, --output FILE       write to FILE (default, or -: stdout; a pprof profile is\n"
    "                          not written to a terminal)\n"
    "  --profile heap|grow     heap: Go's heap profile of sampled allocations (default);\n"
    "                          grow: hash-map grow events per call site\n"
    "  --top [N]               text table of the top N lines (default 20) instead of pprof\n"
    "  --sample-index NAME     value for --top/--folded, and the default sample type of\n"
    "                          a pprof profile (heap: alloc_objects, alloc_space,\n"
    "                          inuse_objects, inuse_space; grow: grows, grow_bytes,\n"
    "                          rehashed, grow_time); default: the profile's default\n"
    "  --folded                collapsed stacks for flamegraph.pl / speedscope\n"
    "  --json                  the profile as JSON, normalized like pprof: locations,\n"
    "                          stacks (location ids, leaf first), samples (values,\n"
    "                          labels, stack id); with --maps: the churn report as JSON\n"
    "  --maps                  map churn report: per map call site, worst first, with\n"
    "                          verdicts (presize, reuse, tiny, shared, hash, oversized,\n"
    "                          dominant)\n"
    "  --keep-going            skip unreadable dumps with a warning, and the processes\n"
    "                          at a MAPPROF_RATE other than most of them share\n"
    "  -h, --help              this text\n"
    "\n"
    "Exit status: 0 ok, 1 usage, 2 bad input, 3 I/O error.\n"
    "View the output with: go tool pprof -top FILE (or -http=: FILE)\n";

static int usage_error(const char *fmt, const char *arg)
{
	fputs("mapprof-report: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'mapprof-report --help'.\n", stderr);
	return MP_EUSAGE;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* "--name=value" or "--name value": returns the value or NULL, advancing *i past it. */
static const char *value_of(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		return "";
	return argv[++*i];
}

static int set_mode(opts_t *o, enum mode m, const char *flag)
{
	if (o->mode != MODE_PPROF && o->mode != m)
		return usage_error("%s: choose one of --top, --folded, --json", flag);
	o->mode = m;
	return MP_OK;
}

/* Whether the file at path begins as a dump does. */
static bool is_dump(const char *path)
{
	char head[MP_DUMP_MAGIC_LEN];
	FILE *f = fopen(path, "rb");
	bool yes = f && fread(head, 1, sizeof(head), f) == sizeof(head) &&
		   memcmp(head, MP_DUMP_MAGIC, sizeof(head)) == 0;
	if (f)
		fclose(f);
	return yes;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->profile = "heap";
	o->top_n = 20;
	o->dumps = mp_xcalloc((size_t)argc, sizeof(char *));
	bool opts_done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int rc = MP_OK;
		if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
			o->dumps[o->ndumps++] = argv[i];
		} else if (strcmp(a, "--") == 0) {
			opts_done = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(MP_OK);
		} else if (strcmp(a, "-o") == 0 || (v = value_of(argc, argv, &i, "--output"))) {
			if (strcmp(a, "-o") == 0)
				v = i + 1 < argc ? argv[++i] : "";
			if (!*v)
				return usage_error("%s needs a file name", a);
			o->output = v;
		} else if ((v = value_of(argc, argv, &i, "--profile"))) {
			if (!*v)
				return usage_error("%s needs heap or grow", a);
			if (strcmp(v, "heap") != 0 && strcmp(v, "grow") != 0)
				return usage_error("--profile: '%s' is not heap or grow", v);
			o->profile = v;
		} else if ((v = value_of(argc, argv, &i, "--sample-index"))) {
			if (!*v)
				return usage_error("%s needs a sample type name", a);
			o->sample_index = v;
		} else if (strncmp(a, "--top", 5) == 0 && (a[5] == '\0' || a[5] == '=')) {
			/* N is optional: "--top", "--top=5", or "--top 5" */
			const char *n = a[5] == '=' ? a + 6 : NULL;
			if (!n && i + 1 < argc &&
			    (all_digits(argv[i + 1]) ||
			     (argv[i + 1][0] == '-' && all_digits(argv[i + 1] + 1))))
				n = argv[++i]; /* "--top -5": a bad N, not an unknown option */
			if (n && !all_digits(n))
				return usage_error("--top: '%s' is not a count of rows (0 or more)",
						   n);
			if (n) { /* more rows than any profile has means all of them */
				unsigned long long t = strtoull(n, NULL, 10);
				o->top_n = t > INT_MAX ? INT_MAX : (int)t;
			}
			rc = set_mode(o, MODE_TOP, a);
		} else if (strcmp(a, "--folded") == 0) {
			rc = set_mode(o, MODE_FOLDED, a);
		} else if (strcmp(a, "--json") == 0) {
			rc = set_mode(o, MODE_JSON, a);
		} else if (strcmp(a, "--maps") == 0) {
			o->maps = true;
		} else if (strcmp(a, "--keep-going") == 0) {
			o->keep_going = true;
		} else {
			return usage_error("unknown option '%s'", a);
		}
		if (rc != MP_OK)
			return rc;
	}
	if (o->sample_index && !o->maps) { /* before the dumps: not after reading them all */
		const char *const(*t)[2] =
		    strcmp(o->profile, "grow") == 0 ? mp_grow_types : mp_heap_types;
		bool known = false;
		for (int k = 0; k < MP_SAMPLE_TYPES; k++)
			known |= strcmp(t[k][0], o->sample_index) == 0;
		if (!known) {
			char msg[512];
			snprintf(msg, sizeof(msg),
				 "--sample-index: %s profiles have no '%.200s' (%s, %s, %s, %s)",
				 o->profile, o->sample_index, t[0][0], t[1][0], t[2][0], t[3][0]);
			return usage_error("%s", msg);
		}
	}
	if (o->ndumps == 0)
		return usage_error("%sno dump files given", "");
	/* `-o mapprof.*.mprof` (the output name forgotten) would replace the first dump with a
	 * profile of the others: the shell gives it to -o. Neither a dump nor an input is
	 * overwritten. */
	struct stat out_st, in_st;
	if (o->output && stat(o->output, &out_st) == 0 && S_ISREG(out_st.st_mode)) {
		bool dump = is_dump(o->output), input = false;
		for (size_t k = 0; k < o->ndumps && !input; k++)
			input = stat(o->dumps[k], &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
				in_st.st_ino == out_st.st_ino;
		if (dump)
			return usage_error("-o %s: that is a mapprof dump (it would be "
					   "overwritten); give another file name",
					   o->output);
		if (input)
			return usage_error("-o %s: that is one of the inputs (it would be "
					   "overwritten); give another file name",
					   o->output);
	}
	if (o->maps && (o->mode == MODE_TOP || o->mode == MODE_FOLDED || o->sample_index))
		return usage_error(
		    "%s--maps takes --json only, not --top, --folded or --sample-index", "");
	if (o->maps && strcmp(o->profile, "heap") != 0)
		return usage_error("%s--maps reads map sites; --profile does not apply", "");
	if (o->maps)
		return MP_OK;
	if (o->mode == MODE_PPROF && isatty(STDOUT_FILENO) &&
	    (!o->output || strcmp(o->output, "-") == 0 || strcmp(o->output, "/dev/stdout") == 0))
		return usage_error("%snot writing a binary profile to a terminal; use -o FILE", "");
	if (o->mode == MODE_JSON && o->sample_index)
		return usage_error("%s--sample-index does not apply to --json", "");
	return MP_OK;
}

static int write_mode(FILE *f, const opts_t *o, const mp_profile_t *p, const mp_report_info_t *info,
		      const char *name)
{
	if (o->maps) {
		mp_churn_t c;
		mp_churn_build(&c, info->in, info->sym);
		mp_report_policy_copies(stderr, info->in, info->sym);
		if (c.bare_sites) /* no file or line to show: say why, once */
			fprintf(
			    stderr,
			    "mapprof-report: %zu map site%s in code without symbols (stripped, or "
			    "not the build that ran: see above?): "
			    "each is named by the addresses of its frame and its callers'\n",
			    c.bare_sites, c.bare_sites > 1 ? "s are" : " is");
		if (c.impl_sites) /* named by the map's own code: say why they may merge */
			fprintf(
			    stderr,
			    "mapprof-report: %zu map site%s no frame outside the map's own code "
			    "(stacks cut short: MAPPROF_DEPTH too small, or MAPPROF_UNWIND=fp over "
			    "code without frame pointers?): each is named by its "
			    "innermost frame, so sites may merge\n",
			    c.impl_sites, c.impl_sites > 1 ? "s have" : " has");
		int rc = o->mode == MODE_JSON ? mp_report_maps_json(f, &c, info->in)
					      : mp_report_maps(f, &c, info->in);
		mp_churn_free(&c);
		return rc;
	}
	switch (o->mode) {
	case MODE_PPROF:
		return mp_pprof_write(p, f, name);
	case MODE_TOP:
		return mp_report_top(f, p, info, o->top_n);
	case MODE_FOLDED:
		/* The format has no room for a header: the one note goes to stderr. */
		if (info->in->rate > 1 && strcmp(info->profile, "grow") != 0)
			fprintf(
			    stderr,
			    "mapprof-report: --folded values are sampled estimates (rate %" PRIu64
			    "), not exact counts\n",
			    info->in->rate);
		else if (info->in->rate == 1 && info->in->totals.dropped &&
			 strcmp(info->profile, "grow") != 0)
			fprintf(stderr,
				"mapprof-report: --folded values are lower bounds: %" PRIu64
				" samples found no memory left for the profiler\n",
				info->in->totals.dropped);
		else if (info->in->rate == 0 && strcmp(info->profile, "grow") != 0)
			fputs("mapprof-report: sampling was off (MAPPROF_RATE=0): there are no "
			      "allocation samples to fold\n",
			      stderr);
		return mp_report_folded(f, p, info);
	case MODE_JSON:
		return mp_report_json(f, p, info);
	}
	return MP_EUSAGE;
}

/* The text writers tell a failed write by ferror alone (pprof's names its output itself): one
 * that failed before the last flush (an output larger than stdio's buffer) says so here, where
 * a failure at the flush or close says so in emit and finish. */
static int write_output(FILE *f, const opts_t *o, const mp_profile_t *p,
			const mp_report_info_t *info, const char *name)
{
	int rc = write_mode(f, o, p, info, name);
	if (rc == MP_EIO && ferror(f) && (o->maps || o->mode != MODE_PPROF))
		fprintf(stderr, "mapprof-report: %s: write failed: %s\n", name, strerror(errno));
	return rc;
}

/* A grow profile of processes that ran with map tracking off (MAPPROF_MAPS=0) holds none of
 * their grows, and no output format but pprof's comments could say so: one line does. */
static bool tracking_off(const mp_inputs_t *in, const char *what)
{
	size_t off = 0;
	for (size_t i = 0; i < in->n; i++)
		off += !in->dumps[i].has_grows && !(in->dumps[i].flags & MP_HDR_MAPS_ENABLED);
	if (off == in->n)
		fprintf(stderr,
			"mapprof-report: warning: no process had map tracking on "
			"(MAPPROF_MAPS=0): the %s is empty\n",
			what);
	else if (off)
		fprintf(stderr,
			"mapprof-report: warning: %zu of %zu processes had map tracking off "
			"(MAPPROF_MAPS=0): their maps are not in the %s\n",
			off, in->n, what);
	return off == in->n;
}

/* A binary profile opened to a terminal under another name (/dev/fd/1, /dev/stderr, /dev/tty):
 * refused as stdout's is (parse_args), and f closed. */
static bool refused_tty(FILE *f, const opts_t *o)
{
	if (o->maps || o->mode != MODE_PPROF || !isatty(fileno(f)))
		return false;
	fclose(f);
	fprintf(stderr,
		"mapprof-report: %s: not writing a binary profile to a terminal; use -o FILE\n",
		o->output);
	return true;
}

/* Writes f's contents, then closes it; a failed write or close is an error naming `name`. */
static int finish(FILE *f, int rc, const char *name)
{
	if (fclose(f) != 0 && rc == MP_OK) {
		fprintf(stderr, "mapprof-report: %s: write failed: %m\n", name);
		rc = MP_EIO;
	}
	return rc;
}

/* How many names create_temp tries beside the output before it gives up. */
#define MP_TEMP_TRIES 10

/* Creates the temporary file beside target that emit renames into place: always a new file
 * (O_EXCL), never one already there, nor what a symbolic link planted under its name points to
 * (O_EXCL refuses any link; O_NOFOLLOW says so once more); a name that is taken gives way to
 * the next of MP_TEMP_TRIES (target.tmp.PID, then target.tmp.PID.1, ...). Mode 0666 less the
 * umask, as the shell's `>` creates a file. Returns the descriptor, or -1 with errno set
 * (EEXIST: every name was taken) and tmp the last name tried. */
static int create_temp(const char *target, char *tmp, size_t n)
{
	int fd = -1;
	for (int k = 0; k < MP_TEMP_TRIES; k++) {
		if (k == 0)
			snprintf(tmp, n, "%s.tmp.%ld", target, (long)getpid());
		else
			snprintf(tmp, n, "%s.tmp.%ld.%d", target, (long)getpid(), k);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	return fd;
}

/* Writes the output to fd (a new file's or one opened for it), then closes it. */
static int write_fd(const opts_t *o, const mp_profile_t *p, const mp_report_info_t *info, int fd)
{
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		fprintf(stderr, "mapprof-report: %s: cannot write: %m\n", o->output);
		close(fd);
		return MP_EIO;
	}
	return finish(f, write_output(f, o, p, info, o->output), o->output);
}

/* Writes target in place, as the shell's `>` does: truncated if it exists, created (new) if
 * not. Not atomic: until the write ends a reader sees a partial file, and a failed write
 * leaves one (a file this call created is removed then). */
static int write_in_place(const opts_t *o, const mp_profile_t *p, const mp_report_info_t *info,
			  const char *target, bool exists)
{
	int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (exists ? O_TRUNC : O_CREAT | O_EXCL);
	int fd = open(target, flags, 0666);
	if (fd < 0) {
		fprintf(stderr, "mapprof-report: %s: cannot %s: %m\n", o->output,
			exists ? "open" : "create");
		return MP_EIO;
	}
	int rc = write_fd(o, p, info, fd);
	if (rc != MP_OK) {
		if (!exists)
			unlink(target);
		else
			fprintf(stderr,
				"mapprof-report: %s: written in place (no temporary file beside "
				"it): it is incomplete\n",
				o->output);
	}
	return rc;
}

/* Copies the finished temporary file tmp over target's contents (truncated), then removes tmp;
 * where the copy fails, tmp stays and says so: the profile is not lost. */
static int copy_in_place(const opts_t *o, const char *tmp, const char *target)
{
	int in = open(tmp, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(target, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	bool ok = in >= 0 && out >= 0;
	char buf[1 << 16];
	ssize_t n = 0;
	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t done = 0, w; ok && done < n; done += w)
			ok = (w = write(out, buf + done, (size_t)(n - done))) > 0;
	ok = ok && n == 0;
	int e = errno;
	if (out >= 0 && close(out) != 0 && ok) {
		e = errno;
		ok = false;
	}
	if (in >= 0)
		close(in);
	if (!ok) {
		fprintf(
		    stderr,
		    "mapprof-report: %s: cannot write in place (it cannot be replaced): %s; the "
		    "profile is in %s\n",
		    o->output, strerror(e), tmp);
		return MP_EIO;
	}
	unlink(tmp);
	return MP_OK;
}

/* A regular file (or none yet) is written under a temporary name beside it and renamed into
 * place, so a failed run never leaves a half-written profile under the real name; through a
 * symbolic link, beside the file it names (the link stays); where no temporary file can be
 * made, in place. Anything else (a device such as /dev/null, a FIFO) is written to directly:
 * renaming over it would replace it. */
static int emit(const opts_t *o, const mp_profile_t *p, const mp_report_info_t *info)
{
	if (!o->output || strcmp(o->output, "-") == 0 || strcmp(o->output, "/dev/stdout") == 0) {
		int rc = write_output(stdout, o, p, info, "stdout");
		if (fflush(stdout) != 0 && rc == MP_OK) {
			fprintf(stderr, "mapprof-report: stdout: write failed: %m\n");
			rc = MP_EIO;
		}
		return rc;
	}
	/* A descriptor the shell opened (`-o /dev/fd/3`, /dev/stderr): written through it as it
	 * is, appending where it appends; reopening its file would truncate it, and renaming
	 * over that file would leave the descriptor on the old one. */
	int fd = -1;
	char end;
	if (strcmp(o->output, "/dev/stderr") == 0)
		fd = 2;
	else if (sscanf(o->output, "/dev/fd/%d%c", &fd, &end) != 1 &&
		 sscanf(o->output, "/proc/self/fd/%d%c", &fd, &end) != 1)
		fd = -1;
	if (fd >= 0) {
		int d = dup(fd);
		FILE *f = d >= 0 ? fdopen(d, "wb") : NULL;
		if (!f) {
			int e = errno;
			fprintf(stderr, "mapprof-report: %s: cannot write: %s\n", o->output,
				strerror(e));
			if (d >= 0)
				close(d);
			return MP_EIO;
		}
		if (refused_tty(f, o))
			return MP_EUSAGE;
		return finish(f, write_output(f, o, p, info, o->output), o->output);
	}
	struct stat st, lst;
	bool exists = stat(o->output, &st) == 0;
	bool link = lstat(o->output, &lst) == 0 && S_ISLNK(lst.st_mode);
	/* A link to nothing yet: created through it, as the shell's `>` does. */
	if ((exists && !S_ISREG(st.st_mode)) || (link && !exists)) {
		if (exists && S_ISDIR(st.st_mode)) {
			fprintf(stderr, "mapprof-report: %s: is a directory\n", o->output);
			return MP_EIO;
		}
		FILE *f = fopen(o->output, "wb");
		if (!f) {
			fprintf(stderr, "mapprof-report: %s: cannot open: %m\n", o->output);
			return MP_EIO;
		}
		if (refused_tty(f, o))
			return MP_EUSAGE;
		return finish(f, write_output(f, o, p, info, o->output), o->output);
	}
	/* A file the user may not write (mode 0444, a read-only mount) is refused as the shell's
	 * `>` refuses it: renaming over it needs only the directory's permission, and would
	 * replace it. The effective ids (AT_EACCESS) are the ones open(2) would check. */
	if (exists && faccessat(AT_FDCWD, o->output, W_OK, AT_EACCESS) != 0 && errno != ENOENT) {
		fprintf(stderr, "mapprof-report: cannot write %s: %m\n", o->output);
		return MP_EIO;
	}
	char *real = link ? realpath(o->output, NULL) : NULL; /* the file a link names */
	const char *target = real ? real : o->output;
	size_t n = strlen(target) + 48;
	char *tmp = mp_xmalloc(n);
	int rc = MP_OK;
	fd = create_temp(target, tmp, n);
	if (fd < 0 &&
	    (errno == EACCES || errno == EPERM || errno == EROFS || errno == ENAMETOOLONG)) {
		/* No temporary file can be made beside it (a directory the user may not write, a
		 * name already as long as a name can be): the file is written in place. */
		rc = write_in_place(o, p, info, target, exists);
	} else if (fd < 0 && errno == EEXIST) { /* left by other runs, or planted */
		fprintf(stderr,
			"mapprof-report: %s: cannot create a temporary file beside it: "
			"%s.tmp.%ld and the %d names after it all exist\n",
			o->output, target, (long)getpid(), MP_TEMP_TRIES - 1);
		rc = MP_EIO;
	} else if (fd < 0) {
		fprintf(stderr, "mapprof-report: %s: cannot create %s beside it: %m\n", o->output,
			tmp);
		rc = MP_EIO;
	} else {
		if (exists) { /* the file replaced keeps its mode (and owner, where allowed) */
			if (fchown(fd, st.st_uid, st.st_gid) != 0) {
				/* not ours to give away: the mode still applies */
			}
			(void)fchmod(fd, st.st_mode & 07777);
		}
		rc = write_fd(o, p, info, fd);
		if (rc == MP_OK && rename(tmp, target) != 0) {
			int e = errno;
			/* A file that cannot be replaced but may be written: a mount point (a
			 * container's bind-mounted file: EBUSY), another user's file in a sticky
			 * directory such as /tmp (EPERM). The finished file is copied in, as `>`
			 * would write it, and kept where the copy fails. */
			if (exists && (e == EBUSY || e == EPERM || e == EACCES)) {
				rc = copy_in_place(o, tmp, target);
			} else {
				fprintf(stderr,
					"mapprof-report: %s: cannot rename into place: %s\n",
					o->output, strerror(e));
				unlink(tmp);
				rc = MP_EIO;
			}
		} else if (rc != MP_OK) {
			unlink(tmp);
		}
	}
	free(tmp);
	free(real);
	return rc;
}

int main(int argc, char **argv)
{
	opts_t o;
	int rc = parse_args(argc, argv, &o);
	if (rc != MP_OK) {
		free(o.dumps);
		return rc;
	}
	/* A descriptor named as the output must be the caller's, open for writing, before any
	 * file this run opens can take its number (one did: "Invalid argument" for a closed 3). */
	int ofd;
	char oend;
	if (o.output && (sscanf(o.output, "/dev/fd/%d%c", &ofd, &oend) == 1 ||
			 sscanf(o.output, "/proc/self/fd/%d%c", &ofd, &oend) == 1)) {
		int fl = fcntl(ofd, F_GETFL);
		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
			fprintf(stderr, "mapprof-report: %s: %s\n", o.output,
				fl < 0 ? "not an open descriptor" : "open for reading only");
			free(o.dumps);
			return MP_EIO;
		}
	}
	bool heap = strcmp(o.profile, "heap") == 0;
	mp_inputs_t in;
	mp_profile_t p;
	mp_profile_init(&p);
	mp_symbolizer_t *sym = NULL;
	rc = mp_inputs_load(&in, o.dumps, o.ndumps, o.keep_going, heap);
	if (rc != MP_OK)
		goto out;
	sym = mp_symbolize_new(&in);
	if (o.maps) {
		tracking_off(&in, "churn report");
		mp_report_info_t minfo = {o.profile, &in, 0, sym};
		rc = emit(&o, &p, &minfo);
		goto out;
	}
	if (heap)
		mp_heap_build(&p, &in, sym);
	else {
		bool off = tracking_off(&in, "grow profile");
		mp_grow_build(&p, &in, sym);
		if (p.nsamples == 0 && !off)
			fputs(
			    "mapprof-report: no map grew in these dumps: the grow profile is empty "
			    "(uthash needs mapprof/uthash.h; unordered_map needs libstdc++ as a "
			    "shared library)\n",
			    stderr);
		mp_report_policy_copies(stderr, &in, sym);
	}
	mp_report_info_t info = {o.profile, &in, 0, sym};
	const char *index = o.sample_index ? o.sample_index : p.strings[p.default_type];
	info.sample_index = mp_profile_type_index(&p, index);
	if (info.sample_index < 0) {
		fprintf(stderr, "mapprof-report: --sample-index: %s profiles have no '%s'\n",
			o.profile, index);
		rc = MP_EUSAGE;
		goto out;
	}
	/* A pprof profile opens on its default sample type: --sample-index chooses it. */
	if (o.sample_index && o.mode == MODE_PPROF)
		p.default_type = p.type[info.sample_index];
	rc = emit(&o, &p, &info);
out:
	mp_symbolize_free(sym);
	mp_profile_free(&p);
	mp_inputs_free(&in);
	free(o.dumps);
	return rc;
}
