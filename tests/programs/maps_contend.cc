// SPDX-License-Identifier: MIT
// Many threads growing maps at once, so that they meet on the shim's maps lock (its contended
// path sleeps on a futex): every grow must still be counted once. Each thread fills its own
// maps at one site, counting the grows itself (bucket_count() watched after every insert).
// Prints "<site> instances N grows G" lines as maps_umap does.
// Usage: maps_contend [THREADS=8] [MAPS=300]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <unordered_map>
#include <vector>

static long nmaps = 300;
static std::atomic<unsigned long> own_grows{0};

// Fills m from `from` to `to` elements, counting the grows on the way.
static unsigned long fill(std::unordered_map<long, long> &m, long from, long to)
{
	unsigned long g = 0;
	for (long k = from; k < to; k++) {
		size_t b = m.bucket_count();
		m.emplace(k, k);
		g += m.bucket_count() != b;
	}
	return g;
}

extern "C" __attribute__((noinline)) void *contend_fill(void *arg)
{
	long seed = (long)(size_t)arg;
	unsigned long g = 0;
	for (long i = 0; i < nmaps; i++) {
		std::unordered_map<long, long> m;
		g += fill(m, 0, 1 + (seed * 7919 + i * 104729) % 700);
	}
	own_grows += g;
	return nullptr;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 8;
	if (argc > 2)
		nmaps = atol(argv[2]);
	if (threads < 1 || threads > 256 || nmaps < 1)
		return 2;
	std::vector<pthread_t> th(threads);
	for (int t = 0; t < threads; t++)
		if (pthread_create(&th[t], nullptr, contend_fill, (void *)(size_t)(t + 1)) != 0)
			return 1;
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], nullptr);
	printf("contend_fill instances %ld grows %lu\n", (long)threads * nmaps, own_grows.load());
	return 0;
}
