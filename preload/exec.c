/* SPDX-License-Identifier: MIT */
/* exec replaces the image without running destructors, so the exit dump would never happen:
 * the exec family writes a dump first, and the new image (LD_PRELOAD is inherited) profiles
 * itself into files of its own. _exit, _Exit and quick_exit end the process without destructors
 * too: they write the final dump first (a fork child that does its work and leaves with _exit would
 * otherwise leave nothing). Not in a vfork child (it shares the parent's memory: a dump there
 * would describe the parent), not in a fork child about to exec or leaving that allocated
 * nothing (the usual fork-then-exec child would only add empty files),
 * not while this thread is inside the
 * profiler (a signal handler calling _exit there: the dump would wait for our own locks). */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "mp.h"
#include "stack.h"
#include "thread.h"

/* The pid this image's state belongs to: set at load and in fork children; a different
 * getpid() means a vfork child. */
static pid_t image_pid;

/* The real _exit, found at load: a fork child may not be able to call dlsym. */
static void (*next_exit)(int);

/* The thread inside exit(), as pid << 32 | tid, or 0 (exit below). */
static uint64_t exiting;
static void (*next_exit_fn)(int);

/* Glibc's exit(), as an address range (found at load: nothing asks the loader at exit). */
static uintptr_t exit_lo, exit_hi;

/* Fork child, first of all its handlers (atfork_child): another library's child handler may
 * leave with _exit, whose dump must know the child for what it is. */
void mp_exec_fork_child(void)
{
	image_pid = getpid();
	exiting = 0;
}

bool mp_exec_vfork_child(void)
{
	pid_t me = getpid();
	/* Sharing this memory: not a process made by a raw clone without CLONE_VM, a copy that
	 * keeps the parent's profile as its own (README). kcmp tells; where it cannot (a seccomp
	 * filter refuses it, a kernel without it), a vfork child is assumed, as before. */
	if (me == image_pid)
		return false;
	long same = syscall(SYS_kcmp, me, image_pid, KCMP_VM, 0, 0);
	return same == 0 || same < 0;
}

bool mp_vfork_exited;

/* A vfork child leaves with exit() (after a failed exec, commonly): that exit runs its
 * parent's exit handlers, in the parent's memory, so none run at the parent's end, ours with
 * them, and glibc takes no new one then. Marked for the parent, whose own exit() or _exit()
 * writes its final dump; said once. Nothing more here: a dump written by the child would take
 * the parent's locks, which a child killed meanwhile would never give back. */
static void vfork_exit(void)
{
	if (__atomic_exchange_n(&mp_vfork_exited, true, __ATOMIC_RELAXED) || mp_state != MP_READY)
		return;
	mp_log("a vfork child called exit(), which runs its parent's exit handlers: the parent "
	       "writes its final dump only if it calls exit() or _exit() itself");
}

static void final_dump(const char *why, bool last, enum mp_dump_stats stats);

/* quick_exit runs its handlers, then glibc's own _exit, not ours. Registered before any other
 * handler, this one runs after them all (reverse order): the dump sees what they did. Libraries
 * the program links are initialized before us and may register theirs in a constructor, so the
 * registration (at_quick_exit is __cxa_at_quick_exit) is interposed: ours goes first, at the
 * first registration of anyone's or in our constructor. */
static void on_quick_exit(void)
{
	final_dump("quick_exit", true, MP_STATS_SKIP);
}

MP_EXPORT int __cxa_at_quick_exit(void (*func)(void), void *dso);

typedef int (*at_quick_exit_fn)(void (*)(void), void *);
static at_quick_exit_fn next_at_quick_exit;
static bool quick_registered;

static at_quick_exit_fn next_quick(void)
{
	at_quick_exit_fn f = __atomic_load_n(&next_at_quick_exit, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (at_quick_exit_fn)dlsym(RTLD_NEXT, "__cxa_at_quick_exit");
		__atomic_store_n(&next_at_quick_exit, f, __ATOMIC_RELEASE);
	}
	return f;
}

static void register_quick_exit(void)
{
	if (__atomic_exchange_n(&quick_registered, true, __ATOMIC_ACQ_REL))
		return;
	at_quick_exit_fn f = next_quick();
	if (f)
		f(on_quick_exit, NULL);
}

int __cxa_at_quick_exit(void (*func)(void), void *dso)
{
	register_quick_exit();
	at_quick_exit_fn f = next_quick();
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(func, dso);
}

__attribute__((constructor)) static void exec_ctor(void)
{
	image_pid = getpid();
	next_exit = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
	next_exit_fn = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	Dl_info di;
	const ElfW(Sym) *sym = NULL;
	if (next_exit_fn &&
	    dladdr1((const void *)next_exit_fn, &di, (void **)&sym, RTLD_DL_SYMENT) && sym &&
	    sym->st_size) {
		exit_lo = (uintptr_t)next_exit_fn;
		exit_hi = exit_lo + sym->st_size;
	}
	register_quick_exit();
}

/* A fork child that is about to exec or leaves with _exit is skipped when it allocated
 * nothing: its exact counts are worth a file, sampled or not (a child that exec'd after
 * 50,000 unsampled calls was lost from the totals at MAPPROF_RATE=0). */
static void final_dump(const char *why, bool last, enum mp_dump_stats stats)
{
	if (last && mp_tls.guard && getpid() == image_pid)
		mp_final_dump_skipped(why);
	if (mp_state != MP_READY || mp_tls.guard || getpid() != image_pid || mp_final_dumped)
		return;
	if (mp_forked_child) {
		struct mp_totals tot;
		mp_tls.guard++;
		mp_thread_totals(&tot);
		mp_tls.guard--;
		if (tot.alloc_calls == 0)
			return;
	}
	int saved = errno;
	/* Not last before an exec (which may fail) nor in daemon's parent (whose child inherits
	 * the flag): the process goes on. */
	if (last)
		mp_dump_write_final(why, stats);
	else
		mp_dump_write(why, stats);
	errno = saved;
}

static void before_exec(void)
{
	final_dump("exec", false, MP_STATS_CHECK);
}

/* The same, unless there is no file at path (a program that looks for its command along PATH
 * itself, one execve per directory, wrote a dump per attempt): that exec fails, and the process
 * goes on to dump later. A file that appears in between is the one miss. */
static void before_exec_path(const char *path)
{
	int saved = errno;
	bool none = path && access(path, F_OK) != 0 && (errno == ENOENT || errno == ENOTDIR);
	errno = saved;
	if (!none)
		before_exec();
}

static __attribute__((noreturn)) void leave(int status)
{
	final_dump("_exit", true, MP_STATS_SKIP);
	if (next_exit)
		next_exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

/* Whether another thread of this process is inside exit(); else this one is, from now on. */
static bool other_exiting(void)
{
	uint64_t me = (uint64_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid);
	uint64_t prev = __atomic_load_n(&exiting, __ATOMIC_ACQUIRE);
	for (;;) {
		if (prev == me)
			return false; /* exit from one of this thread's exit handlers */
		if (prev != 0 && prev >> 32 == me >> 32)
			return true;
		/* none yet, or a vfork child's mark */
		if (__atomic_compare_exchange_n(&exiting, &prev, me, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return false;
	}
}

/* An exit() called by a destructor that the loader runs (one of the executable's, at exit):
 * glibc's nested exit ends the process without returning to the loader, whose later
 * destructors (ours, which arms the final dump) never run, so no dump was written. */
static bool from_destructor(void)
{
	/* Nor from a handler on an alternate signal stack: the loader runs no handler, and
	 * such a stack may be too small to unwind on. */
	if (mp_tls.guard || mp_stack_alt_room(false) != SIZE_MAX)
		return false;
	mp_tls.guard++; /* libunwind's allocations are the profiler's */
	bool in = mp_stack_in_exit_destructor(exit_lo, exit_hi);
	mp_tls.guard--;
	return in;
}

/* exit() from a second thread while another runs the exit handlers (a worker's exit while
 * main's runs; undefined in C, and glibc 2.36 lets it through): the second one finds the
 * handler list emptied by the first and ends the process with exit_group, which cut short the
 * final dump the first was writing (four runs in five lost it). So the second one writes the
 * final dump itself first (waiting for the first one's, if that is being written), then goes
 * on as before: it does not wait for the other thread, whose exit handlers may be waiting for
 * it. A mark left by a vfork child (which shares this memory) is another process's: passed. */
MP_EXPORT __attribute__((noreturn)) void exit(int status)
{
	bool lost = false; /* this process's exit handlers ran in a vfork child: none run now */
	if (mp_exec_vfork_child())
		vfork_exit();
	else
		lost = __atomic_exchange_n(&mp_vfork_exited, false, __ATOMIC_RELAXED);
	if (mp_state == MP_READY && (lost || other_exiting() || from_destructor()))
		final_dump("exit", true, MP_STATS_CHECK);
	void (*f)(int) = next_exit_fn;
	if (!f)
		f = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	if (f)
		f(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

MP_EXPORT void _exit(int status)
{
	leave(status);
}

MP_EXPORT void _Exit(int status)
{
	leave(status);
}

#define NEXT(type, name) ((type)dlsym(RTLD_NEXT, name))

MP_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec_path(path);
	return NEXT(int (*)(const char *, char *const[], char *const[]), "execve")(path, argv,
										   envp);
}

MP_EXPORT int execv(const char *path, char *const argv[])
{
	before_exec_path(path);
	return NEXT(int (*)(const char *, char *const[]), "execv")(path, argv);
}

MP_EXPORT int execvp(const char *file, char *const argv[])
{
	before_exec_path(strchr(file, '/') ? file : NULL); /* else a PATH search */
	return NEXT(int (*)(const char *, char *const[]), "execvp")(file, argv);
}

MP_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	before_exec_path(strchr(file, '/') ? file : NULL);
	return NEXT(int (*)(const char *, char *const[], char *const[]), "execvpe")(file, argv,
										    envp);
}

MP_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec();
	return NEXT(int (*)(int, char *const[], char *const[]), "fexecve")(fd, argv, envp);
}

/* glibc 2.34's wrapper; the system call where an older glibc has none. */
MP_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	before_exec();
	int (*f)(int, const char *, char *const[], char *const[], int) =
	    NEXT(int (*)(int, const char *, char *const[], char *const[], int), "execveat");
	if (f)
		return f(dirfd, path, argv, envp, flags);
	return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

/* daemon(3) forks and ends the parent with glibc's own _exit, which ours never sees: the parent
 * writes its dump first. A snapshot, not the final one: if the fork fails, the process goes
 * on, and its exit dump comes later. The child is a fork child like any other. */
MP_EXPORT int daemon(int nochdir, int noclose)
{
	final_dump("daemon", false, MP_STATS_CHECK); /* a later exit still dumps */
	return NEXT(int (*)(int, int), "daemon")(nochdir, noclose);
}

/* execl, execlp, execle: count the arguments, collect them into an array of exactly that size
 * on the stack (as glibc does) and go through the v forms. */
#define COUNT_ARGS(first, ap, n)                                                                   \
	do {                                                                                       \
		va_list cp;                                                                        \
		va_copy(cp, ap);                                                                   \
		n = 1;                                                                             \
		for (const char *a = (first); a != NULL; a = va_arg(cp, const char *))             \
			n++;                                                                       \
		va_end(cp);                                                                        \
	} while (0)

#define COLLECT(first, ap, argv, n)                                                                \
	do {                                                                                       \
		argv[0] = (char *)(first);                                                         \
		for (size_t i = 1; i < n; i++)                                                     \
			argv[i] = va_arg(ap, char *);                                              \
	} while (0)

MP_EXPORT int execl(const char *path, const char *arg, ...)
{
	size_t n;
	va_list ap;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	char *argv[n];
	COLLECT(arg, ap, argv, n);
	va_end(ap);
	return execv(path, argv);
}

MP_EXPORT int execlp(const char *file, const char *arg, ...)
{
	size_t n;
	va_list ap;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	char *argv[n];
	COLLECT(arg, ap, argv, n);
	va_end(ap);
	return execvp(file, argv);
}

MP_EXPORT int execle(const char *path, const char *arg, ...)
{
	size_t n;
	va_list ap;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	char *argv[n];
	COLLECT(arg, ap, argv, n);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}
