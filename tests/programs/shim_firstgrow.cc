// SPDX-License-Identifier: MIT
// N threads (default 200) made first, then released at once to grow a map each, their first
// map event (tests/integration/shim_threads.sh): each new thread's first stack capture needs its
// stack's bounds. They came from a /proc/self/maps read per thread, through at most four helper
// threads that thousands of new threads spun for: a program that kept making threads hung at
// its exit dump. Prints the grows the threads made.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <unordered_map>

static std::atomic<int> go{0}, grows{0};
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *worker(void *)
{
	pthread_mutex_lock(&mu);
	while (!go.load())
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	std::unordered_map<int, int> m;
	size_t b = m.bucket_count();
	m[1] = 1; /* FIRSTGROW_LINE */
	grows += m.bucket_count() != b;
	return nullptr;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? std::atoi(argv[1]) : 200;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 128 * 1024);
	pthread_t *t = (pthread_t *)std::calloc((size_t)n, sizeof(*t));
	int made = 0;
	for (int i = 0; i < n; i++)
		made += pthread_create(&t[made], &at, worker, nullptr) == 0;
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < made; i++)
		pthread_join(t[i], nullptr);
	std::printf("threads %d grows %d\n", made, grows.load());
	std::free(t);
	return 0;
}
