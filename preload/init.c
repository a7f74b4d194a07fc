/* SPDX-License-Identifier: MIT */
/* Start-up and life cycle: the state machine, resolving the real allocator, reading the
 * environment (once, with secure_getenv: env.c), fork handlers, and the exit dump. The dump
 * triggers that need a thread (signal, interval) live in trigger.c. */
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "arena.h"
#include "buf.h"
#include "fdgate.h"
#include "maps.h"
#include "objects.h"
#include "record.h"
#include "stack.h"
#include "table.h"
#include "thread.h"
#include "slow.h"
#include "trigger.h"
#include "unload.h"

/* See mp.h for who writes and reads these. */
volatile int mp_state = MP_UNINIT;
struct mp_real mp_real;
struct mp_config mp_config;
/* One cache line, whatever the TLS block around it: the fast path reads and writes its first
 * 40 bytes on every call. */
__thread mp_tls_t mp_tls
    __attribute__((tls_model("initial-exec"), aligned(64))) = {.unattached = 1};
uint64_t mp_start_ns;
uint64_t mp_start_mono_ns;
int mp_forked_child;

/* glibc's own entry points: the fallback if dlsym cannot give us the next malloc. */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

uint64_t mp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mp_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* stderr as it was when profiling began (st_dev, st_ino; 0, 0 if closed): a program that
 * closes descriptor 2 may open a file of its own there, and a mapprof: line must never land
 * in it. Set once by mp_init. */
static uint64_t err_dev, err_ino;

static void note_stderr(void)
{
	struct stat st;
	if (fstat(2, &st) == 0) {
		err_dev = (uint64_t)st.st_dev;
		err_ino = (uint64_t)st.st_ino;
	}
}

/* One line on stderr with write(2): stdio may allocate or hold the program's locks. Only while
 * descriptor 2 is still the stderr the process started with; else the line is dropped. */
void mp_log(const char *msg)
{
	int saved = errno;
	struct stat st;
	bool same = fstat(2, &st) == 0 && (uint64_t)st.st_dev == err_dev &&
		    (uint64_t)st.st_ino == err_ino && (err_dev || err_ino);
	errno = saved;
	if (!same)
		return;
	char line[512];
	size_t n = 0;
	const char *prefix = "mapprof: ";
	for (const char *s = prefix; *s && n < sizeof(line) - 2; s++)
		line[n++] = *s;
	for (const char *s = msg; *s && n < sizeof(line) - 2; s++)
		line[n++] = *s == '\n' ? ' ' : *s;
	line[n++] = '\n';
	int cs = mp_nocancel();
	ssize_t w = mp_write_quiet(2, line, n);
	mp_cancel_restore(cs);
	(void)w;
	errno = saved;
}

/* A profiler fault: say so once and stop profiling; the program goes on. */
void mp_fault(const char *what)
{
	static int said;
	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		mp_log(what);
	mp_state = MP_FORWARD;
}

/* glibc's base symbol version on this architecture: what a program's own references to the
 * malloc family name (malloc@GLIBC_2.2.5 on x86_64). */
#if defined(__x86_64__) && !defined(__ILP32__)
#define MP_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define MP_GLIBC_BASE "GLIBC_2.17"
#elif defined(__i386__)
#define MP_GLIBC_BASE "GLIBC_2.0"
#endif

/* Whether object a comes before object b in the global search order (the link-map chain). */
static bool loaded_before(const struct link_map *a, const struct link_map *b)
{
	for (const struct link_map *m = a ? a->l_next : NULL; m && b; m = m->l_next)
		if (m == b)
			return true;
	return false;
}

/* The definition of a malloc-family function that the program's own reference would bind to,
 * searched from handle (RTLD_NEXT, RTLD_DEFAULT). dlsym asks for the default version only, so
 * it passes over an allocator that defines the function under glibc's base version as a
 * non-default (compat) symbol, as glibc's libc_malloc_debug.so does: the program's
 * malloc@GLIBC_2.2.5 binds to it (MALLOC_CHECK_, mtrace), and we would have sent its calls to
 * libc's instead, unchecked (or, listed first, not told that it takes them). dlvsym finds it;
 * it is taken where it comes before dlsym's answer (dlvsym in turn passes over an unversioned
 * definition such as jemalloc's, which a program's reference binds to). */
static void *bound_sym(void *handle, const char *name)
{
	void *f = dlsym(handle, name);
#ifdef MP_GLIBC_BASE
	void *v = dlvsym(handle, name, MP_GLIBC_BASE);
	if (v && v != f && (!f || loaded_before(mp_loaded_object(v), mp_loaded_object(f))))
		f = v;
#endif
	return f;
}

static void *next_sym(const char *name)
{
	return bound_sym(RTLD_NEXT, name);
}

/* The object that defines a function, to tell whether optional functions come from the same
 * allocator as malloc (with libjemalloc preloaded after us, glibc's pvalloc must not be used). */
static const void *owner(void *fn)
{
	return mp_loaded_object(fn);
}

static void resolve(void)
{
	mp_real.malloc = next_sym("malloc");
	mp_real.free = next_sym("free");
	mp_real.calloc = next_sym("calloc");
	mp_real.realloc = next_sym("realloc");
	mp_real.posix_memalign = next_sym("posix_memalign");
	if (!mp_real.malloc || !mp_real.free || !mp_real.calloc || !mp_real.realloc) {
		mp_real.malloc = __libc_malloc;
		mp_real.free = __libc_free;
		mp_real.calloc = __libc_calloc;
		mp_real.realloc = __libc_realloc;
		mp_real.posix_memalign = NULL;
	}
	const void *home = owner((void *)mp_real.malloc);
	void *f;
#define SAME_HOME(name, field)                                                                     \
	f = next_sym(name);                                                                        \
	mp_real.field = (f && owner(f) == home) ? f : NULL
	SAME_HOME("aligned_alloc", aligned_alloc);
	SAME_HOME("memalign", memalign);
	SAME_HOME("valloc", valloc);
	SAME_HOME("pvalloc", pvalloc);
	SAME_HOME("malloc_usable_size", malloc_usable_size);
#undef SAME_HOME
	if (!mp_real.posix_memalign || owner((void *)mp_real.posix_memalign) != home)
		mp_real.posix_memalign = NULL;
	mp_allocstats_init();
}

/* posix_memalign through memalign when the allocator has no posix_memalign of its own. */
static int emulated_posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	/* Without a memalign of the allocator's own, fail rather than hand out a block from
	 * another allocator that its free() would then be given. */
	void *p = mp_real.memalign ? mp_real.memalign(align, size) : NULL;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

/* Parses a whole decimal string; false on anything else (sign, junk, overflow, empty). */
static bool parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s)
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"USR1", SIGUSR1},	 {"USR2", SIGUSR2}, {"HUP", SIGHUP},   {"PROF", SIGPROF}, {"URG", SIGURG},
    {"WINCH", SIGWINCH}, {"PWR", SIGPWR},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
};

/* RTMIN, RTMIN+n, RTMAX, RTMAX-n (as kill -l names them); 0 if s is none of these. */
static int parse_rt_signal(const char *s)
{
	bool min = !strncasecmp(s, "RTMIN", 5);
	if (!min && strncasecmp(s, "RTMAX", 5))
		return 0;
	uint64_t k = 0;
	s += 5;
	if (*s && (*s != (min ? '+' : '-') || !parse_u64(s + 1, &k)))
		return 0;
	int lo = SIGRTMIN, hi = SIGRTMAX;
	if (k > (uint64_t)(hi - lo))
		return 0;
	return min ? lo + (int)k : hi - (int)k;
}

static int parse_signal(const char *s)
{
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(s, signals[i].name))
			return signals[i].sig;
	int rt = parse_rt_signal(s);
	if (rt)
		return rt;
	/* A number: one of those above, or a real-time signal. Not the others: a handler on
	 * SEGV, BUS, ILL, FPE or ABRT would return into the fault (a loop of dumps instead of the
	 * crash), CHLD's default matters to the program, KILL and STOP cannot be caught, and
	 * 32 and 33 are glibc's own (below SIGRTMIN). */
	uint64_t n;
	if (!parse_u64(s, &n))
		return 0;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (n == (uint64_t)signals[i].sig)
			return signals[i].sig;
	if (n >= (uint64_t)SIGRTMIN && n <= (uint64_t)SIGRTMAX)
		return (int)n;
	return 0;
}

/* Only %p, %n and %% may appear in MAPPROF_OUT. */
static bool valid_template(const char *s)
{
	for (; *s; s++) {
		if (*s != '%')
			continue;
		s++;
		if (*s != 'p' && *s != 'n' && *s != '%')
			return false;
	}
	return true;
}

static bool bad(const char *var, const char *val, const char *expect)
{
	/* A long value is shown by its ends and length: the line must reach its reason (it was
	 * cut in the middle of a 4,000-byte path). */
	char msg[400];
	size_t len = strlen(val);
	if (len < 120)
		snprintf(msg, sizeof(msg), "%s='%s' is not valid (expected %s); profiling disabled",
			 var, val, expect);
	else
		snprintf(
		    msg, sizeof(msg),
		    "%s='%.60s...%s' (%zu bytes) is not valid (expected %s); profiling disabled",
		    var, val, val + len - 40, len, expect);
	mp_log(msg);
	return false;
}

/* Reads every MAPPROF_* variable once. A bad value disables profiling with one line naming it,
 * and a name mapprof does not know gets a line too (a silently ignored typo would produce a
 * misleading profile). */
static bool read_config(void)
{
	struct mp_config *c = &mp_config;
	const char *v;
	uint64_t n;
	c->rate = 524288; /* Go's MemProfileRate */
	c->depth = 64;
	c->maps = true;
	c->stack_cache = true;
	strcpy(c->out, "mapprof.%p.%n.mprof");
	if ((v = mp_getenv("MAPPROF_RATE"))) {
		if (!parse_u64(v, &c->rate))
			return bad("MAPPROF_RATE", v, "bytes between samples: 0, 1 or more");
	}
	if ((v = mp_getenv("MAPPROF_SEED"))) {
		if (!parse_u64(v, &c->seed))
			return bad("MAPPROF_SEED", v, "a non-negative integer");
		c->seed_given = true;
	} else {
		c->seed = mp_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)&n;
		c->seed = mp_sample_rng_seed(c->seed, 0);
	}
	if ((v = mp_getenv("MAPPROF_DEPTH"))) {
		if (!parse_u64(v, &n) || n < 1 || n > MP_MAX_DEPTH)
			return bad("MAPPROF_DEPTH", v, "1 to 256");
		c->depth = (unsigned)n;
	}
	if ((v = mp_getenv("MAPPROF_OUT"))) {
		if (!*v || !valid_template(v))
			return bad(
			    "MAPPROF_OUT", v,
			    "a file name whose only % escapes are %p (pid), %n (dump number) and "
			    "%% (a percent sign)");
		if (strlen(v) >= sizeof(c->out) - 64) /* room for the numbers and a suffix */
			return bad("MAPPROF_OUT", v, "a path template under 4032 bytes");
		/* A directory ("out/") or a device ("/dev/null") is no file name: dumps would
		 * land beside it as hidden ".1" files, or in /dev. */
		struct stat sb;
		if (v[strlen(v) - 1] == '/' ||
		    (!strchr(v, '%') && stat(v, &sb) == 0 && !S_ISREG(sb.st_mode)))
			return bad("MAPPROF_OUT", v,
				   "a file name template, not a directory or device");
		strcpy(c->out, v);
	}
	/* A relative template is taken against the directory the program started in, so a
	 * chdir() later does not scatter the dumps. */
	if (c->out[0] != '/') {
		static char cwd[sizeof(c->out)], full[sizeof(c->out)]; /* init: one thread */
		size_t len = strlen(c->out), k = 0;
		bool fits = getcwd(cwd, sizeof(cwd)) != NULL;
		int cwd_errno = fits ? 0 : errno;
		/* The directory is literal text in the template: a '%' in it is doubled, or a
		 * directory named "a%p" would be expanded into another one. */
		for (const char *s = cwd; fits && *s; s++) {
			if (k + 2 + 1 + len + 1 > sizeof(full)) {
				fits = false;
				break;
			}
			if (*s == '%')
				full[k++] = '%';
			full[k++] = *s;
		}
		if (fits && k + 1 + len + 1 <= sizeof(full)) {
			full[k++] = '/';
			memcpy(full + k, c->out, len + 1);
			memcpy(c->out, full, k + len + 1);
		} else if (cwd_errno == ENOENT) {
			mp_log(
			    "MAPPROF_OUT is relative and the working directory was deleted: dumps "
			    "go where the program's working directory is then");
		} else {
			mp_log(
			    "MAPPROF_OUT is relative and the working directory too long to keep: "
			    "dumps go where the program's working directory is then");
		}
	}
	if ((v = mp_getenv("MAPPROF_SIGNAL")) && *v) {
		c->signal = parse_signal(v);
		if (!c->signal)
			return bad(
			    "MAPPROF_SIGNAL", v,
			    "USR1, USR2, HUP, PROF, URG, WINCH, PWR, TTIN, TTOU or a real-time "
			    "signal: RTMIN+n, RTMAX-n or its number");
	}
	if ((v = mp_getenv("MAPPROF_INTERVAL")) && *v) {
		if (!parse_u64(v, &n) || n > 86400 * 365)
			return bad("MAPPROF_INTERVAL", v,
				   "seconds between dumps, at most 31536000 (a year); 0 for none");
		c->interval = (unsigned)n;
	}
	if ((v = mp_getenv("MAPPROF_MAPS"))) {
		if (!strcmp(v, "0"))
			c->maps = false;
		else if (strcmp(v, "1"))
			return bad("MAPPROF_MAPS", v, "0 or 1");
	}
	if ((v = mp_getenv("MAPPROF_STACK_CACHE"))) {
		if (!strcmp(v, "0"))
			c->stack_cache = false;
		else if (strcmp(v, "1"))
			return bad("MAPPROF_STACK_CACHE", v, "0 or 1");
	}
	if ((v = mp_getenv("MAPPROF_UNWIND")) && *v) {
		if (!strcmp(v, "fp"))
			c->unwind_fp = true;
		else if (strcmp(v, "libunwind"))
			return bad("MAPPROF_UNWIND", v, "libunwind or fp");
	}
	if (mp_env_lost()) { /* a value too long is no valid one: as a bad value */
		mp_log("a MAPPROF_ variable is too long (read before libc's start, from "
		       ".preinit_array); profiling disabled");
		return false;
	}
	/* Not a reason to stop: the program runs as configured, and the line says what. */
	char names[320], msg[512];
	size_t k = mp_env_unknown(names, sizeof(names));
	if (k) {
		snprintf(msg, sizeof(msg),
			 "%s %s not known to mapprof, ignored (misspelled? mapprof reads "
			 "MAPPROF_RATE, _SEED, _DEPTH, _OUT, _SIGNAL, _INTERVAL, _MAPS, "
			 "_STACK_CACHE, _UNWIND)",
			 names, k > 1 ? "are" : "is");
		mp_log(msg);
	}
	return true;
}

/* Lock order for fork: stack capture (no thread may be inside libunwind or the loader: a flag
 * per thread, see stack.c), the dump writer (no dump in flight: it calls dl_iterate_phdr), then
 * maps -> table (every live-table shard, then the index) -> threads -> arena, the order every
 * other path takes them in. */
/* Forks made by this process: the child's sampler is reseeded from it (fork_no), so sibling
 * children sample independently yet reproducibly under MAPPROF_SEED. */
static uint64_t forks;
static __thread uint64_t fork_no __attribute__((tls_model("initial-exec")));

/* Whether this fork's prepare handler took the locks (the profiler was ready then): its parent
 * and child handlers, on the same thread (the child's is its copy), undo only what it did.
 * Per thread: glibc runs the handlers of forks on two threads at once. */
static __thread bool fork_locked __attribute__((tls_model("initial-exec")));

/* A fork from a signal handler that interrupted the profiler on this thread: its locks may
 * be held here, so they are not taken (that waited for itself); the child, whose profiler
 * state cannot be trusted, profiles nothing, as _Fork's. */
static __thread bool fork_unsafe __attribute__((tls_model("initial-exec")));

static void atfork_prepare(void)
{
	bool ready = __atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_READY;
	fork_unsafe = ready && mp_tls.guard != 0;
	fork_locked = ready && !fork_unsafe;
	if (!fork_locked)
		return;
	mp_tls.guard++;
	fork_no = __atomic_add_fetch(&forks, 1, __ATOMIC_RELAXED);
	mp_stack_fork_prepare();
	mp_dump_fork_prepare();
	mp_maps_lock_all();
	mp_table_lock_all();
	mp_thread_lock();
	mp_arena_lock();
}

static void atfork_parent(void)
{
	if (!fork_locked)
		return;
	mp_arena_unlock();
	mp_thread_unlock();
	mp_table_unlock_all();
	mp_maps_unlock_all();
	mp_dump_fork_parent();
	mp_stack_fork_parent();
	mp_tls.guard--;
}

/* The child starts a profile of its own: counts, samples and maps from the fork on. */
static void atfork_child(void)
{
	mp_exec_fork_child();
	if (fork_unsafe && mp_state == MP_READY)
		__atomic_store_n(&mp_state, MP_FORWARD, __ATOMIC_RELEASE);
	if (!fork_locked)
		return;
	mp_fd_reset_child();
	mp_arena_unlock();
	mp_thread_unlock();
	mp_table_unlock_all();
	mp_maps_unlock_all();
	mp_stack_fork_child();
	mp_thread_reset_child(&mp_tls);
	mp_table_reset();
	mp_record_reset();
	mp_maps_reset();
	mp_unload_reset_child();
	mp_start_ns = mp_now_ns();
	mp_start_mono_ns = mp_mono_ns();
	mp_forked_child = 1;
	forks = 0;
	/* The parent's sampler state would make every child sample exactly as its siblings (all
	 * of them at the same points, or none): a stream of its own, and a fresh interval. */
	mp_tls_t *t = &mp_tls;
	mp_config.seed = mp_sample_rng_seed(mp_config.seed, fork_no); /* threads attached later */
	t->rng = mp_sample_rng_seed(t->rng ^ mp_config.seed, fork_no);
	if (t->rec) {
		int64_t first = mp_sample_next(&t->rng, mp_config.rate);
		mp_countdown_set(t, first < 0 ? 0 : (uint64_t)first);
	}
	/* Last: it starts the child's dump thread, which a MAPPROF_SIGNAL already pending makes
	 * write at once; before the lines above, that dump took the parent's start time, seed
	 * and no fork-child flag (a process too many in reports). Also resets the dump writer's
	 * lock and sequence. */
	mp_trigger_reset_child();
	mp_tls.guard--;
}

/* Ours are the first fork handlers registered, before any library's: glibc runs the prepare
 * handlers newest first and the parent and child handlers oldest first, so ours take the
 * profiler's locks after every other prepare handler has run, as glibc's malloc takes its own,
 * and release them before any other parent or child handler runs. Registered later (our
 * constructor runs after the libraries' constructors), ours held the locks while a library's
 * prepare handler waited for its own lock, held by a thread that was waiting in malloc for one
 * of ours: the fork hung. And the allocations of those handlers went unrecorded. So the
 * registration function that pthread_atfork calls (glibc's, from libc_nonshared) is
 * interposed: the first registration of anyone's registers ours first. */
typedef int (*register_atfork_fn)(void (*)(void), void (*)(void), void (*)(void), void *);
/* 0 none, 1 being registered (by registering_thread), 2 registered. */
static int ours_registered;
static __thread bool registering __attribute__((tls_model("initial-exec")));

static register_atfork_fn next_register_atfork(void)
{
	static register_atfork_fn next;
	register_atfork_fn f = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (register_atfork_fn)dlsym(RTLD_NEXT, "__register_atfork");
		__atomic_store_n(&next, f, __ATOMIC_RELEASE);
	}
	return f;
}

/* Another thread's registration waits for ours to be in (or else it may go first); the
 * registering thread's own nested calls (dlsym may allocate, and the first allocation sets up
 * the profiler, which registers) go through. No DSO handle: the shim is never unloaded while
 * preloaded, and with one its handlers left at its __cxa_finalize, before the exit of other
 * threads that may still fork. */
static void register_ours(void)
{
	if (registering)
		return;
	for (;;) {
		int z = 0;
		if (__atomic_compare_exchange_n(&ours_registered, &z, 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
		if (z == 2)
			return;
		sched_yield(); /* 1: another thread's is going in */
	}
	registering = true;
	register_atfork_fn f = next_register_atfork();
	bool ok = f && f(atfork_prepare, atfork_parent, atfork_child, NULL) == 0;
	registering = false;
	__atomic_store_n(&ours_registered, ok ? 2 : 0, __ATOMIC_RELEASE);
}

MP_EXPORT int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
				void *dso)
{
	register_ours();
	register_atfork_fn f = next_register_atfork();
	return f ? f(prepare, parent, child, dso) : ENOMEM;
}

/* _Fork (glibc 2.34) forks without the atfork handlers, and is async-signal-safe: a program
 * may call it from a handler that interrupted malloc, and its child may not take locks held in
 * the parent then (not malloc's: starting a dump thread there hung). Its child kept the parent's
 * profile (an exit dump with the parent's allocations; after _exit none). So the child, whose
 * state cannot be trusted, profiles nothing: it forwards every call and writes no dump. */
MP_EXPORT pid_t _Fork(void)
{
	static pid_t (*next)(void);
	pid_t (*f)(void) = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (pid_t(*)(void))dlsym(RTLD_NEXT, "_Fork");
		__atomic_store_n(&next, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	pid_t p = f();
	if (p == 0 && mp_state == MP_READY)
		__atomic_store_n(&mp_state, MP_FORWARD, __ATOMIC_RELEASE);
	return p;
}

/* An allocator preloaded before us (LD_PRELOAD="libjemalloc.so.2 libmapprof.so"), or a program
 * with a malloc of its own, takes the program's calls: none reach us, and the profile would be
 * empty without a word. */
/* The first definition of name in the global scope (what the program's calls reach), or NULL
 * when it is a non-PIE executable's PLT entry standing for it: such an executable, taking the
 * function's address, defines the name as that entry (an undefined symbol), and dlsym answers
 * with it whichever object the entry's calls go to. */
static void *first_definition(const char *name)
{
	void *m = bound_sym(RTLD_DEFAULT, name);
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (!m || !dladdr1(m, &info, (void **)&sym, RTLD_DL_SYMENT) ||
	    (sym && sym->st_shndx == SHN_UNDEF))
		return NULL;
	return m;
}

static void check_first(void)
{
	/* The malloc family in turn: a non-PIE program may take malloc's address (python3.11
	 * does), and then its own entry says nothing of where the calls go (black-box QA: no
	 * line came with jemalloc listed first); it seldom takes them all. */
	static const char *const names[] = {"malloc", "free", "calloc", "realloc"};
	void *m = NULL;
	for (size_t i = 0; !m && i < sizeof(names) / sizeof(names[0]); i++)
		m = first_definition(names[i]);
	const void *obj = owner(m);
	if (!m || obj == owner((void *)mp_init))
		return;
	/* The executable's own malloc (rustc exports one) comes first whatever LD_PRELOAD says:
	 * no advice to reorder it. */
	mp_cxx_others_first();
	void *phdr = (void *)getauxval(AT_PHDR);
	if (phdr && owner(phdr) == obj)
		mp_log("the program defines malloc itself: its calls are not profiled (map grows "
		       "still are)");
	else
		mp_log("malloc here is not libmapprof.so's (an allocator listed before it in "
		       "LD_PRELOAD): its calls are not profiled; list libmapprof.so first");
}

/* A sanitizer's run-time library (gcc links it dynamically) replaces malloc and wraps much of
 * libc, and its set-up allocates before its wrappers can forward: the first call of a wrapped
 * function from that malloc, as ours made (clock_gettime, open), jumped to address 0. It is
 * found by name in the loader's list of objects, which calls nothing; the process is then
 * not profiled (every call forwarded), and runs as it would. NULL if there is none. */
static const char *sanitizer;

static const char *sanitizer_runtime(void)
{
	/* gcc's (libasan.so.8), and clang's with -shared-libsan (libclang_rt.asan-x86_64.so) */
	static const char *const libs[][2] = {{"asan", "AddressSanitizer"},
					      {"tsan", "ThreadSanitizer"},
					      {"hwasan", "HWAddressSanitizer"},
					      {"lsan", "LeakSanitizer"},
					      {"msan", "MemorySanitizer"}};
	for (const struct link_map *m = _r_debug.r_map; m; m = m->l_next) {
		const char *base = m->l_name ? m->l_name : "";
		for (const char *c = base; *c; c++)
			if (*c == '/')
				base = c + 1;
		bool clang = strncmp(base, "libclang_rt.", 12) == 0;
		const char *rest = clang			  ? base + 12
				   : strncmp(base, "lib", 3) == 0 ? base + 3
								  : NULL;
		for (size_t i = 0; rest && i < sizeof(libs) / sizeof(libs[0]); i++) {
			size_t n = strlen(libs[i][0]);
			/* libasan.so.8, libclang_rt.asan-x86_64.so; not libasanfoo.so */
			if (strncmp(rest, libs[i][0], n) == 0 &&
			    (strncmp(rest + n, ".so", 3) == 0 || (clang && rest[n] == '-')))
				return libs[i][1];
		}
	}
	return NULL;
}

void mp_init(void)
{
	int expect = MP_UNINIT;
	if (!__atomic_compare_exchange_n(&mp_state, &expect, MP_BOOTSTRAP, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Another thread is initialising: its bootstrap area serves us meanwhile. */
		return;
	}
	/* The program's errno is its own: libunwind's warm-up below leaves EAGAIN (draining its
	 * pipe), and C promises main errno 0. */
	int saved_errno = errno;
	mp_tls.guard++;
	resolve();
	if (!mp_real.posix_memalign)
		mp_real.posix_memalign = emulated_posix_memalign;
	if ((sanitizer = sanitizer_runtime()) != NULL) {
		mp_tls.guard--;
		__atomic_store_n(&mp_state, MP_FORWARD, __ATOMIC_RELEASE);
		errno = saved_errno;
		return; /* said by mp_ctor, once the runtime has set itself up */
	}
	mp_fallible_init();
	mp_start_ns = mp_now_ns();
	mp_start_mono_ns = mp_mono_ns();
	note_stderr();
	int next = MP_READY;
	/* set-uid/set-gid: never profile, never read the environment. AT_SECURE says so unless
	 * the caller already had the rights (root running su): the file's mode says it then. */
	struct stat exe;
	if (getauxval(AT_SECURE) ||
	    (stat("/proc/self/exe", &exe) == 0 && (exe.st_mode & (S_ISUID | S_ISGID)))) {
		next = MP_FORWARD;
	} else if (!read_config()) {
		next = MP_FORWARD;
	} else if (!mp_filter_init() || !mp_thread_init()) {
		mp_log("cannot set up (out of memory); profiling disabled");
		next = MP_FORWARD;
	} else {
		mp_buf_init();
		mp_fd_init();
		mp_exe_remember();
		mp_stack_init();
		mp_unload_init();
		mp_maps_init();
		register_ours(); /* unless a library's registration did already */
		check_first();
	}
	mp_tls.guard--;
	__atomic_store_n(&mp_state, next, __ATOMIC_RELEASE);
	errno = saved_errno;
}

__attribute__((constructor)) static void mp_ctor(void)
{
	int saved_errno = errno;
	if (mp_state == MP_UNINIT)
		mp_init();
	if (sanitizer) {
		char msg[160];
		snprintf(msg, sizeof(msg), "the program runs with %s: it is not profiled",
			 sanitizer);
		note_stderr();
		mp_log(msg);
	}
	if (mp_state == MP_READY)
		mp_trigger_start();
	errno = saved_errno;
}

/* The final dump, after every destructor. Ours runs after the program's atexit handlers, but
 * the loader runs the destructors of a preloaded object before those of the libraries the
 * program links (a library that frees its memory in a destructor would read as a leak). So
 * ours registers an exit handler: exit() runs handlers registered while its handlers run (the
 * loader's destructors are one of them, registered first, run last) once they return. With
 * no DSO handle, our own __cxa_finalize does not run it early. */
bool mp_final_dumped;

extern int __cxa_atexit(void (*func)(void *), void *arg, void *dso);

void mp_final_dump_skipped(const char *why)
{
	static int said;
	if (mp_state != MP_READY || mp_final_dumped ||
	    __atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	/* No snprintf: this runs in a signal handler. */
	static const char
	    head[] = "no final dump: ",
	    tail[] =
		"() ran in a signal handler that interrupted the profiler, whose locks may be held "
		"(MAPPROF_SIGNAL or MAPPROF_INTERVAL dumps come from a thread of its own)";
	char msg[sizeof(head) + sizeof(tail) + 16];
	size_t n = strlen(why) < 16 ? strlen(why) : 15;
	memcpy(msg, head, sizeof(head) - 1);
	memcpy(msg + sizeof(head) - 1, why, n);
	memcpy(msg + sizeof(head) - 1 + n, tail, sizeof(tail));
	mp_log(msg);
}

static void final_dump(void *unused)
{
	(void)unused;
	/* exit() in a vfork child (after a failed exec) runs the parent's exit handlers in the
	 * parent's memory (exec.c): a final dump here would be the parent's, under the child's
	 * pid, and mark the parent's done. */
	if (mp_exec_vfork_child()) {
		__atomic_store_n(&mp_vfork_exited, true, __ATOMIC_RELAXED);
		return;
	}
	/* Not from a signal handler that interrupted the profiler (exit() from a handler on a
	 * thread inside a dump would wait for its own dump lock): no final dump then. */
	if (mp_state == MP_READY && mp_tls.guard)
		mp_final_dump_skipped("exit");
	if (mp_state != MP_READY || mp_final_dumped || mp_tls.guard)
		return;
	int saved_errno = errno; /* for the exit handlers that run after ours */
	mp_trigger_stop();
	mp_dump_write_final("exit", MP_STATS_CHECK); /* a later _exit adds no second one */
	errno = saved_errno;
}

__attribute__((destructor)) static void mp_dtor(void)
{
	if (mp_state != MP_READY)
		return;
	if (__cxa_atexit(final_dump, NULL, NULL) != 0)
		final_dump(NULL);
}
