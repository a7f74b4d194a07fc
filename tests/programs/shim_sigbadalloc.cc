// SPDX-License-Identifier: MIT
// A signal handler's failing operator new while the thread is inside one of ours
// (tests/integration/shim_regress.sh; run over jemalloc, whose nothrow new touches no heap on
// failure, so the program is sound): the handler's call read "no new-handler" and gave up the
// guard of the call it interrupted, and crashed (NULL scope) when that one was ending. The main
// thread does N new/delete pairs (aligned every third) under a 200 us SIGALRM whose handler makes
// three failing nothrow news, then keeps 1000 objects. Prints "sum S consistent 1".
// Usage: shim_sigbadalloc N
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sys/time.h>
#include <vector>

static volatile sig_atomic_t sigs, nulls;

static void on_alarm(int)
{
	sigs++;
	nulls += ::operator new(SIZE_MAX / 2, std::nothrow) == nullptr;
	nulls += ::operator new (SIZE_MAX / 2, std::align_val_t{64}, std::nothrow) == nullptr;
	nulls += ::operator new[](SIZE_MAX / 2, std::nothrow) == nullptr;
}

__attribute__((noinline)) static int *known_site(int i)
{
	return new int(i);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 300000;
	struct sigaction sa = {};
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, nullptr);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, nullptr);
	unsigned long sum = 0;
	for (long i = 0; i < n; i++) {
		size_t size = 8 + (size_t)(i * 7919) % 5000;
		char *p = new char[size];
		p[0] = 1;
		sum += (unsigned long)p[0];
		delete[] p;
		if (i % 3 == 0) {
			void *a = ::operator new (size, std::align_val_t{128});
			::operator delete (a, std::align_val_t{128});
		}
	}
	struct itimerval off = {};
	setitimer(ITIMER_REAL, &off, nullptr);
	std::vector<int *> held;
	held.reserve(1000);
	for (int i = 0; i < 1000; i++)
		held.push_back(known_site(i));
	std::printf("sum %lu consistent %d\n", sum, nulls == 3 * sigs);
	return 0;
}
