// SPDX-License-Identifier: MIT
// oversized and a deliberate load factor (tests/integration/churn.sh): spacious() sets
// max_load_factor(0.1) and reserves for the 1000 elements it then holds: ~10 buckets per
// element by choice, which reserve(1000) would ask for again, so not oversized (it was, with
// advice that could never make the verdict go). wasteful() reserves 100000 at the default load
// factor and holds 1000: oversized; so does halfload() at a load factor of 0.5 (a low one marked
// every site, and hid this). Prints "<site> instances N grows G".
#include <cstdio>
#include <unordered_map>
#include <vector>

static unsigned spacious_grows, wasteful_grows, halfload_grows;

extern "C" __attribute__((noinline)) void spacious(std::unordered_map<int, int> &m)
{
	size_t b = m.bucket_count();
	m.max_load_factor(0.1f);
	m.reserve(1000); /* SITE_SPACIOUS */
	spacious_grows += m.bucket_count() != b;
	for (int k = 0; k < 1000; k++)
		m[k] = k;
}

extern "C" __attribute__((noinline)) void wasteful(std::unordered_map<int, int> &m)
{
	size_t b = m.bucket_count();
	m.reserve(100000); /* SITE_WASTEFUL */
	wasteful_grows += m.bucket_count() != b;
	for (int k = 0; k < 1000; k++)
		m[k] = k;
}

extern "C" __attribute__((noinline)) void halfload(std::unordered_map<int, int> &m)
{
	size_t b = m.bucket_count();
	m.max_load_factor(0.5f);
	m.reserve(100000); /* SITE_HALFLOAD */
	halfload_grows += m.bucket_count() != b;
	for (int k = 0; k < 1000; k++)
		m[k] = k;
}

int main()
{
	std::vector<std::unordered_map<int, int>> a(20), b(20), c(20);
	long sum = 0;
	for (auto &m : a) {
		spacious(m);
		sum += (long)m.size();
	}
	for (auto &m : b) {
		wasteful(m);
		sum += (long)m.size();
	}
	for (auto &m : c) {
		halfload(m);
		sum += (long)m.size();
	}
	std::printf("spacious instances 20 grows %u\n", spacious_grows);
	std::printf("wasteful instances 20 grows %u\n", wasteful_grows);
	std::printf("halfload instances 20 grows %u\n", halfload_grows);
	std::printf("checksum %ld\n", sum);
	return 0;
}
