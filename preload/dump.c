/* SPDX-License-Identifier: MIT */
/* The dump writer: serializes a full snapshot (include/mapprof/DUMP_FORMAT.md) into arena
 * memory, then writes it with write(2) to an unnamed file in the target directory (O_TMPFILE;
 * else a private temporary file) and links it into place, so a reader never sees a partial
 * file, a writer killed halfway leaves nothing, and nothing is overwritten. The
 * first error is latched: the dump is abandoned and one `mapprof:` line says why. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "buf.h"
#include "fdgate.h"
#include "stack.h"
#include "mapprof/dump_format.h"
#include "maps.h"
#include "objects.h"
#include "unload.h"
#include "record.h"
#include "table.h"
#include "thread.h"

/* dump_lock serializes dumps (exit, signal thread, mapprof_dump). next_seq under it. */
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_seq;
static int said_error;

static size_t put_dec(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0, k = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		out[k++] = tmp[--n];
	return k;
}

/* Expands MAPPROF_OUT; false if the result would not fit. */
static bool expand(char *out, size_t cap, uint64_t seq, uint64_t suffix)
{
	size_t n = 0;
	for (const char *s = mp_config.out; *s; s++) {
		if (n + 24 >= cap)
			return false;
		if (s[0] == '%' && s[1] == 'p') {
			n += put_dec(out + n, (uint64_t)getpid());
			s++;
		} else if (s[0] == '%' && s[1] == 'n') {
			n += put_dec(out + n, seq);
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			out[n++] = '%';
			s++;
		} else {
			out[n++] = *s;
		}
	}
	if (suffix) {
		out[n++] = '.';
		n += put_dec(out + n, suffix);
	}
	out[n] = 0;
	return true;
}

static const char *errtext(int e)
{
	switch (e) {
	case EACCES:
		return "permission denied";
	case EPERM:
		return "operation not permitted (an immutable file or directory, or a sandbox's "
		       "filter)";
	case ENOSYS:
		return "system call refused (a sandbox's filter?)";
	case ENOENT:
		return "no such directory";
	case ENOSPC:
		return "no space left on device";
	case EDQUOT:
		return "disk quota exceeded";
	case EROFS:
		return "read-only file system";
	case EEXIST:
		return "file exists";
	case ENAMETOOLONG:
		return "name too long";
	case ENOTDIR:
		return "not a directory";
	case ELOOP:
		return "symbolic link in the way";
	case EIO:
		return "I/O error";
	case ENOTSUP:
		return "the directory takes no new files";
	case EFBIG:
		return "file size limit (RLIMIT_FSIZE) reached";
	case ENOMEM:
		return "out of memory";
	case EMFILE:
	case ENFILE:
		return "too many open files";
	default:
		return "write failed";
	}
}

static void report(const char *what, const char *name, int e)
{
	if (__atomic_exchange_n(&said_error, 1, __ATOMIC_RELAXED))
		return;
	/* A long name by its ends: the line must reach its reason. */
	char msg[480];
	size_t len = strlen(name);
	if (len < 180)
		snprintf(msg, sizeof(msg), "%s %s: %s (no dump written)", what, name, errtext(e));
	else
		snprintf(msg, sizeof(msg), "%s %.80s...%s: %s (no dump written)", what, name,
			 name + len - 80, errtext(e));
	mp_log(msg);
}

static bool write_all(int fd, const uint8_t *p, size_t n, int *err)
{
	while (n) {
		ssize_t w = mp_write_quiet(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			*err = errno;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* The directory part of a file name ("." for none), in out. */
static void dir_of(const char *name, char *out, size_t n)
{
	const char *slash = strrchr(name, '/');
	size_t len = slash ? (size_t)(slash - name) : 0;
	if (slash && len == 0)
		len = 1; /* "/x": the root */
	if (!slash || len >= n) {
		memcpy(out, ".", 2);
		return;
	}
	memcpy(out, name, len);
	out[len] = 0;
}

/* The dump written to an unnamed file (O_TMPFILE) in name's directory: a writer killed
 * halfway leaves nothing behind. The fd, or -1 when this file system cannot (then the named
 * temporary file is used), or -2 after an error reported. */
static int unnamed(const struct mp_buf *b, const char *name)
{
	static char dir[MP_PATH_MAX + 64]; /* dump lock held */
	dir_of(name, dir, sizeof(dir));
	int fd = mp_fd_open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		/* Not here: a file system without it, or a sandbox's filter that refuses it
		 * (man-db's answers ENOSYS): the named temporary file may still be made. */
		return errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ||
			       errno == ENOSYS || errno == EPERM
			   ? -1
			   : (report("cannot write dump", name, errno), -2);
	(void)fchmod(fd, 0600); /* 0600 whatever the program's umask (0777 made it 0000) */
	int err = 0;
	if (!write_all(fd, b->data, b->len, &err)) {
		mp_fd_close(fd);
		return report("cannot write dump", name, err), -2;
	}
	return fd;
}

/* Links the unnamed file fd at name: 0, or the errno (EEXIST: try another name). Through the
 * thread's own view of descriptors: mp_fd_private's thread has a table of its own, and
 * /proc/self/fd (the main thread's table) names another file at that number, or none (a zombie
 * leader: main() left with pthread_exit). */
static int link_unnamed(int fd, const char *name)
{
	char proc[48];
	const char *base = "/proc/thread-self/fd/";
	size_t n = strlen(base);
	memcpy(proc, base, n);
	n += put_dec(proc + n, (uint64_t)fd);
	proc[n] = 0;
	return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
}

/* Writes the buffer under a temporary name and links it to the final one: 0, or the errno
 * (EEXIST: try another name), after reporting any other error. */
static int publish_named(const struct mp_buf *b, const char *name)
{
	static char tmp[MP_PATH_MAX + 96]; /* dump lock held */
	size_t n = strlen(name);
	memcpy(tmp, name, n);
	memcpy(tmp + n, ".tmp.", 5);
	n += 5;
	n += put_dec(tmp + n, mp_mono_ns() ^ ((uint64_t)getpid() << 20));
	tmp[n] = 0;
	int fd = mp_fd_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* Named by the dump's name, not the temporary one; a directory that exists but
		 * takes no new files (/proc) says ENOENT too. */
		int e = errno ? errno : EIO;
		static char dir[MP_PATH_MAX + 64]; /* dump lock held */
		dir_of(name, dir, sizeof(dir));
		struct stat st;
		report("cannot write dump", name,
		       e == ENOENT && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? ENOTSUP : e);
		return e;
	}
	(void)fchmod(fd, 0600); /* as in unnamed() */
	int err = 0;
	bool ok = write_all(fd, b->data, b->len, &err);
	if (mp_fd_close(fd) != 0 && ok) {
		ok = false;
		err = errno;
	}
	if (!ok) {
		unlink(tmp);
		return report("cannot write dump", name, err), err;
	}
	int lr = link(tmp, name);
	int le = errno;
	if (lr != 0 && (le == EPERM || le == ENOTSUP || le == EOPNOTSUPP || le == ENOSYS)) {
		/* No hard links here (vfat, some FUSE and network file systems): a rename that
		 * refuses to replace still never overwrites. */
		lr = (int)syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, name, RENAME_NOREPLACE);
		le = errno;
		if (lr == 0)
			return 0;
	}
	unlink(tmp);
	if (lr == 0)
		return 0;
	if (le != EEXIST)
		report("cannot write dump", name, le);
	return le;
}

/* Where the last dump of this process found a free name, as an offset past its own: the next
 * one starts there. Dump lock held. */
static uint64_t name_skip;

/* Whether the name at offset off is taken (by any file, a dangling symlink too). */
static bool taken_at(uint64_t seq, bool has_n, uint64_t off)
{
	static char probe[MP_PATH_MAX + 64]; /* dump lock held */
	struct stat st;
	return expand(probe, sizeof(probe), has_n ? seq + off : seq, has_n ? 0 : off) &&
	       lstat(probe, &st) == 0;
}

/* A free offset past `from`, whose name is taken: the lowest one where the names taken are the
 * first ones (dumps fill them from the lowest), found by doubling steps and then halving them,
 * some forty lstat calls for a million names taken. The dumps were lost for good after 1,000
 * names (a run with MAPPROF_INTERVAL=1 and no %n lost every dump after 17 minutes, the final
 * one too; a template with %n and no %p, every process after the 1,000th). */
static uint64_t next_free(uint64_t seq, bool has_n, uint64_t from)
{
	uint64_t lo = from, hi = from + 1, step = 1; /* lo taken; hi free once the loop ends */
	while (taken_at(seq, has_n, hi) && step < ((uint64_t)1 << 40)) {
		lo = hi;
		step *= 2;
		hi = from + step;
	}
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (taken_at(seq, has_n, mid))
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* Writes the dump under the first free name of the template (past those taken). */
static int publish_here(const struct mp_buf *b, uint64_t seq)
{
	static char name[MP_PATH_MAX + 64]; /* dump lock held */
	bool has_n = false;		    /* a real %n, not the text "%n" after a "%%" */
	for (const char *s = mp_config.out; *s; s++)
		if (s[0] == '%' && s[1]) {
			has_n |= s[1] == 'n';
			s++;
		}
	int fd = -1, rc = -1;
	bool named = false;
	uint64_t off = name_skip;
	/* A name free at first: an error in writing (a full disk) names the file it would have
	 * been, not another process's dump there (an exec'd image's first, same pid). */
	if (taken_at(seq, has_n, off))
		off = next_free(seq, has_n, off);
	for (unsigned attempt = 0; attempt < 64; attempt++) {
		/* An exec'd image has the same pid and restarts at seq 0: skip names taken. */
		if (!expand(name, sizeof(name), has_n ? seq + off : seq, has_n ? 0 : off)) {
			report("cannot write dump", mp_config.out, ENAMETOOLONG);
			break;
		}
		if (fd < 0 && !named && (fd = unnamed(b, name)) == -2)
			break;
		int e;
		if (fd >= 0) {
			e = link_unnamed(fd, name);
			if (e != 0 && e != EEXIST) { /* no /proc, or links refused: the named way */
				mp_fd_close(fd);
				fd = -1;
				named = true;
			}
		}
		if (fd < 0) {
			named = true;
			e = publish_named(b, name);
		}
		if (e == 0) {
			rc = 0;
			name_skip = off;
			break;
		}
		if (e != EEXIST)
			break; /* reported */
		if (attempt == 63)
			report("cannot write dump", name, EEXIST);
		off = next_free(seq, has_n, off); /* another process may take it first: again */
	}
	if (fd >= 0)
		mp_fd_close(fd);
	return rc;
}

struct publish_args {
	const struct mp_buf *b;
	uint64_t seq;
};

static int publish_fn(void *p)
{
	const struct publish_args *a = p;
	return publish_here(a->b, a->seq);
}

/* The dump's file is held for as long as writing it takes (milliseconds): with a descriptor
 * of the program's numbers, a program that closes one and opens a file meanwhile (stdout
 * redirected by close(1) and open) got another number, and wrote into the dump. */
static int publish(const struct mp_buf *b, uint64_t seq)
{
	struct publish_args a = {b, seq};
	return mp_fd_private(publish_fn, &a);
}

/* The command line, read in pieces straight into the buffer; the thread's own view when the
 * process's is empty (a zombie leader: main() left with pthread_exit). Private descriptors
 * (mp_fd_private): its total. */
static int read_cmdline(void *p)
{
	struct mp_buf *b = p;
	uint32_t total = 0;
	for (int k = 0; k < 2 && total == 0; k++) {
		int fd = mp_fd_open(k ? "/proc/thread-self/cmdline" : "/proc/self/cmdline",
				    O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			continue;
		static char chunk[4096];
		ssize_t r;
		while ((r = read(fd, chunk, sizeof(chunk))) > 0 && total + r <= MP_MAX_STRING) {
			mp_buf_put(b, chunk, (size_t)r);
			total += (uint32_t)r;
		}
		mp_fd_close(fd);
	}
	return (int)total;
}

static void put_header(struct mp_buf *b, uint64_t seq)
{
	size_t at = mp_buf_section_begin(b, MP_SEC_HEADER);
	uint32_t flags = (mp_config.seed_given ? MP_HDR_SEED_GIVEN : 0) |
			 (mp_config.maps ? MP_HDR_MAPS_ENABLED : 0) |
			 (mp_forked_child ? MP_HDR_FORKED_CHILD : 0);
	mp_buf_u32(b, (uint32_t)getpid());
	mp_buf_u32(b, (uint32_t)getppid());
	mp_buf_u64(b, seq);
	mp_buf_u64(b, mp_config.rate);
	mp_buf_u64(b, mp_config.seed);
	mp_buf_u32(b, mp_config.depth);
	mp_buf_u32(b, flags);
	mp_buf_u64(b, mp_start_ns);
	mp_buf_u64(b, mp_now_ns());
	static char exe[MP_PATH_MAX]; /* dump lock held */
	ssize_t n = mp_exe_link(exe, sizeof(exe));
	mp_buf_str(b, exe, n > 0 ? (size_t)n : 0);
	size_t len_at = mp_buf_u32_later(b);
	mp_buf_u32_at(b, len_at, (uint32_t)mp_fd_private(read_cmdline, b));
	mp_buf_section_end(b, at);
}

static void put_stacks_samples_locked(struct mp_buf *b)
{
	size_t at = mp_buf_section_begin(b, MP_SEC_STACKS);
	uint32_t ns = mp_table_stack_count_locked();
	mp_buf_u32(b, ns);
	for (uint32_t i = 0; i < ns; i++) {
		const mp_stack_t *s = mp_table_stack_locked(i);
		mp_buf_u32(b, s->n);
		mp_buf_put(b, s->pc, s->n * sizeof(uintptr_t));
	}
	mp_buf_section_end(b, at);
	/* The keys of stacks captured after an unload over their pcs (unload.c), if any. */
	uint32_t nk = 0;
	for (uint32_t i = 0; i < ns; i++)
		nk += mp_table_stack_locked(i)->key != 0;
	if (nk) {
		at = mp_buf_section_begin(b, MP_SEC_STACK_KEYS);
		mp_buf_u32(b, nk);
		for (uint32_t i = 0; i < ns; i++) {
			uint32_t key = mp_table_stack_locked(i)->key;
			if (key) {
				mp_buf_u32(b, i);
				mp_buf_u32(b, key);
			}
		}
		mp_buf_section_end(b, at);
	}
	at = mp_buf_section_begin(b, MP_SEC_SAMPLES);
	uint32_t nb = mp_table_bucket_count_locked();
	uint32_t written = 0;
	size_t count_at = mp_buf_u32_later(b);
	uint32_t mixed = 0;
	for (uint32_t i = 0; i < nb; i++) {
		const mp_bucket_t *k = mp_table_bucket_locked(i);
		if (k->allocs == 0)
			continue; /* emptied by a kind change */
		mp_buf_u32(b, k->stack);
		mp_buf_u32(b, k->kind & ~MP_BUCKET_MIXED);
		mp_buf_u64(b, k->size);
		mp_buf_u64(b, k->allocs);
		mp_buf_u64(b, k->inuse);
		written++;
		mixed += (k->kind & MP_BUCKET_MIXED) != 0;
	}
	mp_buf_u32_at(b, count_at, written);
	mp_buf_section_end(b, at);
	if (!mixed)
		return;
	/* 2.x: a 1.x reader would take the size-0 samples for objects of size 0 */
	mp_buf_u32_at(b, MP_DUMP_MAGIC_LEN, MP_DUMP_MAJOR_MIXED | MP_DUMP_MINOR_MIXED << 16);
	/* The mixed buckets' own estimates (table.h), by their index among the samples above. */
	at = mp_buf_section_begin(b, MP_SEC_MIXED_SAMPLES);
	mp_buf_u32(b, mixed);
	for (uint32_t i = 0, index = 0; i < nb; i++) {
		const mp_bucket_t *k = mp_table_bucket_locked(i);
		if (k->allocs == 0)
			continue;
		if (k->kind & MP_BUCKET_MIXED) {
			mp_buf_u32(b, index);
			mp_buf_u64(b, k->mix_w);
			mp_buf_u64(b, k->mix_b);
			mp_buf_u64(b, k->mix_inuse_w);
			mp_buf_u64(b, k->mix_inuse_b);
		}
		index++;
	}
	mp_buf_section_end(b, at);
}

/* Stack a dump may take below write_dump's caller on an alternate signal stack (where it does
 * not unwind): 5.2 KiB measured (a 64 KiB stack painted, mapprof_dump() from the handler), with
 * a margin; less than glibc's sysconf(_SC_SIGSTKSZ) leaves (14.2 KiB less a 3.6 KiB AVX-512
 * signal frame), so a stack sized by the book takes a dump. */
#define MP_DUMP_ROOM	  (9u << 10)
#define MP_DUMP_ROOM_TEXT "9 KiB"

/* No snprintf: there is little stack left. Said once. */
static void short_stack(const char *why, size_t room)
{
	static int said;
	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	char msg[200], num[24];
	size_t n = 0;
	const char *parts[] = {"no dump: ", why, "() ran on an alternate signal stack with ", num,
			       " bytes left; a dump needs " MP_DUMP_ROOM_TEXT};
	int k = sizeof(num) - 1;
	num[k] = 0;
	do
		num[--k] = (char)('0' + room % 10);
	while ((room /= 10) && k > 0);
	memmove(num, num + k, sizeof(num) - (size_t)k);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *c = parts[i]; *c && n < sizeof(msg) - 1; c++)
			msg[n++] = *c;
	msg[n] = 0;
	mp_log(msg);
}

static int write_dump(const char *why, bool final, enum mp_dump_stats stats)
{
	if (mp_state != MP_READY)
		return -1;
	/* A handler on an alternate signal stack (a SIGSEGV handler's after a stack overflow,
	 * often 8 KiB) may have too little left for a dump: it is skipped then, and said. */
	size_t room = mp_stack_alt_room(false);
	if (room < MP_DUMP_ROOM) {
		short_stack(why, room);
		return -1;
	}
	mp_tls_t *t = &mp_tls;
	t->guard++;
	/* Before the dump lock: the unwind waits for a fork in progress, whose prepare handler
	 * waits for that lock. On an alternate signal stack, this is a handler (and libunwind's
	 * stack is spared). */
	bool read_stats = stats == MP_STATS_READ ||
			  (stats == MP_STATS_CHECK && room == SIZE_MAX && !mp_stack_in_handler());
	int cs = mp_nocancel(); /* a program's mapprof_dump() is no cancellation point either */
	mp_allocstats_t as;
	mp_allocstats_read(&as, read_stats); /* before the lock: objects.h says why */
	pthread_mutex_lock(&dump_lock);
	if (final && mp_final_dumped) { /* another thread's exit wrote it while this one waited */
		pthread_mutex_unlock(&dump_lock);
		mp_cancel_restore(cs);
		t->guard--;
		return 0;
	}
	uint64_t seq = next_seq++;
	struct mp_buf b = {0};
	mp_buf_put(&b, MP_DUMP_MAGIC, MP_DUMP_MAGIC_LEN);
	mp_buf_u16(&b, MP_DUMP_MAJOR);
	mp_buf_u16(&b, MP_DUMP_MINOR);
	mp_buf_u32(&b, MP_DUMP_FILE_HEADER_SIZE);
	put_header(&b, seq);
	mp_objects_dump(&b);
	mp_unload_dump(&b); /* before the stacks: every key they carry has its record */
	mp_allocstats_dump(&b, &as);
	/* Maps first: every stack they name was interned before they recorded it, so the
	 * STACKS section written after them holds it. */
	if (mp_config.maps)
		mp_maps_dump(&b);
	struct mp_sample_stats st;
	struct mp_totals tot;
	mp_table_lock_all();
	put_stacks_samples_locked(&b);
	mp_record_stats_locked(&st);
	/* The totals after the samples: a thread counts an allocation (or a free) before it
	 * records it, so totals read now cover every sample the table held (read before it, a
	 * snapshot of running threads had fewer allocation calls than samples). And still under
	 * the table's locks (order: table -> threads), which a sampled call needs: in exact mode
	 * the totals then exceed the samples by the calls in flight only, at most one a thread
	 * (read after the unlock, a dumping thread preempted there let the others run on, and an
	 * exit dump missed 40,000 of 280,000 calls). */
	mp_thread_totals(&tot);
	mp_table_unlock_all();
	size_t at = mp_buf_section_begin(&b, MP_SEC_TOTALS);
	mp_buf_u64(&b, tot.alloc_calls);
	mp_buf_u64(&b, tot.free_calls);
	mp_buf_u64(&b, tot.alloc_bytes);
	mp_buf_u64(&b, st.sampled);
	mp_buf_u64(&b, st.dropped);
	mp_buf_u64(&b, st.inuse_est);
	mp_buf_u64(&b, st.peak_inuse_est);
	mp_buf_u64(&b, tot.threads);
	mp_buf_u64(&b, tot.grow_thread_ns); /* 1.3 */
	mp_buf_u64(&b, mp_maps_dropped());  /* 1.4 */
	mp_buf_section_end(&b, at);
	at = mp_buf_section_begin(&b, MP_SEC_END);
	mp_buf_section_end(&b, at);
	int rc = -1;
	if (b.failed)
		report("cannot build dump for", why, ENOMEM);
	else
		rc = publish(&b, seq);
	mp_buf_release(&b);
	if (final)
		mp_final_dumped = true; /* written or not: one attempt, one line at most */
	pthread_mutex_unlock(&dump_lock);
	mp_cancel_restore(cs);
	t->guard--;
	return rc;
}

int mp_dump_write(const char *why, enum mp_dump_stats stats)
{
	return write_dump(why, false, stats);
}

int mp_dump_write_final(const char *why, enum mp_dump_stats stats)
{
	return write_dump(why, true, stats);
}

void mp_dump_fork_prepare(void)
{
	pthread_mutex_lock(&dump_lock);
}

void mp_dump_fork_parent(void)
{
	pthread_mutex_unlock(&dump_lock);
}

void mp_dump_reset_child(void)
{
	pthread_mutex_init(&dump_lock, NULL);
	next_seq = 0;
	name_skip = 0; /* the child's names start from its own seq 0 */
}
