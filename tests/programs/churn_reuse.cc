// SPDX-License-Identifier: MIT
// reuse (tests/integration/churn.sh): a std::unordered_map made and dropped on every call, many
// calls one after another, each map short-lived. Every map holds 5 to 12 elements: one grow each
// (1 -> 13 buckets), so neither presize (needs several) nor tiny (needs <= 4) applies. Built
// with -DFIXED, the caller keeps one map and clear()s it per call (clear keeps the buckets): one
// instance, and reuse must not fire. Prints
// "tally instances N grows G explicit 0 max M grow_bytes B".
#include <cstdio>
#include <unordered_map>
#include "churn_common.h"

#define CALLS 2000

static unsigned instances, grows, max_elems;
static size_t grow_bytes;

extern "C" __attribute__((noinline)) long tally(std::unordered_map<int, int> *keep, int n)
{
#ifdef FIXED
	std::unordered_map<int, int> &m = *keep;
	m.clear();
#else
	std::unordered_map<int, int> local;
	std::unordered_map<int, int> &m = local;
	(void)keep;
#endif
	for (int k = 0; k < n; k++) {
		size_t b = m.bucket_count();
		m[k * 3] += k; /* SITE */
		if (m.bucket_count() != b) {
			grows++;
			grow_bytes += m.bucket_count() * sizeof(void *);
			if (b == 1)
				instances++; /* a map's first bucket array: first seen here */
		}
	}
	if (m.size() > max_elems)
		max_elems = (unsigned)m.size();
	return (long)m.size();
}

int main()
{
	other_work(8 << 20, 100);
	std::unordered_map<int, int> keep;
	long sum = 0;
	for (int c = 0; c < CALLS; c++)
		sum += tally(&keep, 5 + c % 8);
	std::printf("tally instances %u grows %u explicit 0 max %u grow_bytes %zu\n", instances,
		    grows, max_elems, grow_bytes);
	std::printf("checksum %ld\n", sum);
	return 0;
}
