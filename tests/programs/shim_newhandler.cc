// SPDX-License-Identifier: MIT
// A new-handler that releases a reserve when operator new fails, the classic use: the program
// holds a 64 MiB reserve (reserve_site), caps its address space 96 MiB above what it uses,
// then asks for 128 MiB (big_site). The first try fails; the handler frees the reserve,
// allocates a note (handler_site) and uninstalls itself; the retry succeeds. The profiler
// must see the handler's free and allocation like any other. Prints what happened.
//   shim_newhandler plain|nothrow|aligned    which operator new makes the big request
//   shim_newhandler sigread    a handler that never frees anything runs 300000 times while a
//                              timer signal reads std::get_new_handler(): it must always be
//                              the program's own handler (prints how often it was not)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/resource.h>
#include <sys/time.h>

static char *reserve;
static int *note;
static int handler_runs;

__attribute__((noinline)) static char *reserve_site()
{
	char *p = new char[64u << 20];
	memset(p, 1, 64u << 20); // really mapped
	return p;
}
__attribute__((noinline)) static int *handler_site()
{
	return new int(42);
}
static void release_reserve()
{
	handler_runs++;
	delete[] reserve;
	reserve = nullptr;
	note = handler_site();
	std::set_new_handler(nullptr);
}
struct alignas(64) Big {
	char b[128u << 20];
};
__attribute__((noinline)) static void *big_site(const char *how)
{
	size_t n = 128u << 20;
	if (!strcmp(how, "nothrow"))
		return new (std::nothrow) char[n];
	if (!strcmp(how, "aligned"))
		return new Big;
	return new char[n];
}

static long vm_bytes()
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;
	if (f) {
		if (fscanf(f, "%ld", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * 4096;
}

static volatile long stubborn_runs, reads, foreign;
static void stubborn()
{
	if (++stubborn_runs >= 300000)
		throw std::bad_alloc();
}
static void on_alarm(int)
{
	reads++;
	if (std::get_new_handler() != stubborn)
		foreign++;
}
static int sigread()
{
	std::set_new_handler(stubborn);
	signal(SIGALRM, on_alarm);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, nullptr);
	try {
		void *volatile p = ::operator new((size_t)1 << 62);
		(void)p;
	} catch (const std::bad_alloc &) {
	}
	it = {};
	setitimer(ITIMER_REAL, &it, nullptr);
	printf("handler read as another function: %ld times (of %s)\n", foreign,
	       reads > 0 ? "some reads" : "no reads");
	return foreign != 0;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "plain";
	if (!strcmp(how, "sigread"))
		return sigread();
	reserve = reserve_site();
	struct rlimit rl;
	rl.rlim_cur = rl.rlim_max = (rlim_t)vm_bytes() + (96u << 20);
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		perror("setrlimit");
		return 2;
	}
	std::set_new_handler(release_reserve);
	void *big = nullptr;
	try {
		big = big_site(how);
	} catch (const std::bad_alloc &) {
		printf("bad_alloc\n");
	}
	printf("big %s, handler ran %d, reserve %s, note %d\n", big ? "ok" : "failed", handler_runs,
	       reserve ? "kept" : "released", note ? *note : 0);
	return big ? 0 : 1;
}
