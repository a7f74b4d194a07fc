// SPDX-License-Identifier: MIT
// Advice that must not mislead (tests/integration/churn.sh), seven sites in one program:
// - split_sizes: 300 maps, 9 in 10 hold one element and every 10th 25000. They grow 2.1 times
//   each on average, all of it in the large ones: reserve(p90) = reserve(1) spares nothing, so
//   no presize; tiny fires, but a flat array alone would search 25000 entries linearly, so its
//   suggestion keeps the hash map for the large ones.
// - scratch: 200 maps of 200 elements made one after another, never reserved: the churn.
// - load_table: one map reserved for the 120000 elements it then holds: its one reserve
//   allocates more bytes than scratch's growth, but it is sized right: listed last.
// - build_index: one map reserved for 2^20 elements that holds 100: oversized.
// - headers: 500 maps of 20 elements, every 10th of 40, one of 30000: those up to p90 grow
//   twice each, so presize fires, though the one large map grew 12 times (counting it out at
//   that for each larger one took presize away).
// - mirror: a map reserved for 2000 elements, then copy-assigned a full one (mirror_src): the
//   copied elements pass no rehash policy, so it reads as holding none; not oversized.
// Prints "<site> instances N grows G max M" per site, counted by watching bucket_count().
#include <cstdio>
#include <unordered_map>
#include "churn_common.h"

struct count {
	unsigned instances, grows;
	size_t max;
};
static count split, scratch, load, index_, headers;

static void note(count &c, size_t before, size_t after, size_t size)
{
	if (after != before) {
		c.grows++;
		c.instances += before == 1;
	}
	if (size > c.max)
		c.max = size;
}

extern "C" __attribute__((noinline)) long split_sizes(int r)
{
	std::unordered_map<int, int> m;
	int n = r % 10 == 0 ? 25000 : 1;
	for (int i = 0; i < n; i++) {
		size_t b = m.bucket_count();
		m[i] = i; /* SITE_SPLIT */
		note(split, b, m.bucket_count(), m.size());
	}
	return (long)m.size();
}

extern "C" __attribute__((noinline)) long scratch_map(int r)
{
	std::unordered_map<int, int> m;
	for (int i = 0; i < 200; i++) {
		size_t b = m.bucket_count();
		m[i * 3 + r] = i; /* SITE_SCRATCH */
		note(scratch, b, m.bucket_count(), m.size());
	}
	return (long)m.size();
}

extern "C" __attribute__((noinline)) long load_table(void)
{
	std::unordered_map<long, long> m;
	size_t b = m.bucket_count();
	m.reserve(120000); /* SITE_LOAD */
	note(load, b, m.bucket_count(), 0);
	for (long i = 0; i < 120000; i++) {
		b = m.bucket_count();
		m[i] = i;
		note(load, b, m.bucket_count(), m.size());
	}
	return (long)m.size();
}

extern "C" __attribute__((noinline)) long build_index(void)
{
	std::unordered_map<long, long> m;
	size_t b = m.bucket_count();
	m.reserve(1 << 20); /* SITE_INDEX */
	if (m.bucket_count() != b) {
		index_.grows++;
		index_.instances++;
	}
	for (long i = 0; i < 100; i++) {
		b = m.bucket_count();
		m[i] = i;
		note(index_, b, m.bucket_count(), m.size());
	}
	return (long)m.size();
}

extern "C" __attribute__((noinline)) long handle_headers(int r)
{
	std::unordered_map<int, int> m;
	int n = r == 0 ? 30000 : r % 10 == 0 ? 40 : 20;
	for (int i = 0; i < n; i++) {
		size_t b = m.bucket_count();
		m[i * 31] = i; /* SITE_HEADERS */
		note(headers, b, m.bucket_count(), m.size());
	}
	return (long)m.size();
}

extern "C" __attribute__((noinline)) long mirror(void)
{
	std::unordered_map<int, int> src;
	for (int i = 0; i < 2000; i++)
		src[i] = i; /* SITE_MIRROR_SRC */
	std::unordered_map<int, int> dst;
	dst.reserve(2000); /* SITE_MIRROR */
	dst = src;
	return (long)dst.size();
}

int main()
{
	other_work(8 << 20, 20);
	long sum = build_index() + load_table() + mirror();
	for (int r = 0; r < 300; r++)
		sum += split_sizes(r);
	for (int r = 0; r < 200; r++)
		sum += scratch_map(r);
	for (int r = 0; r < 500; r++)
		sum += handle_headers(r);
	std::printf("checksum %ld\n", sum);
	std::printf("split_sizes instances %u grows %u max %zu\n", split.instances, split.grows,
		    split.max);
	std::printf("scratch_map instances %u grows %u max %zu\n", scratch.instances, scratch.grows,
		    scratch.max);
	std::printf("load_table instances %u grows %u max %zu\n", load.instances, load.grows,
		    load.max);
	std::printf("handle_headers instances %u grows %u max %zu\n", headers.instances,
		    headers.grows, headers.max);
	std::printf("build_index instances %u grows %u max %zu\n", index_.instances, index_.grows,
		    index_.max);
	return 0;
}
