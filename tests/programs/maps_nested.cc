// SPDX-License-Identifier: MIT
// Two maps made on one line: an inverted index, a map of sets filled by idx[word].insert(doc)
// (the line marked NESTED), and the same with member templates, whose demangled names start
// with their return type (try_emplace(word).first->second.emplace(doc), marked NESTED2). The
// outer map and the inner sets are two sites at each line (they were one, which mixed one map of
// 2000 words with 2000 sets of a few documents), told apart by their container in the report.
// And one map type filled on one line by emplace() and operator[] in turn (MIXED): one site.
// Sets made in place by a container, whose first grow runs inside the allocator's construct()
// (a range constructor through vector::emplace_back, RANGE; a sizing one through map::emplace,
// SIZED): each a site at its line (they were libstdc++'s construct() at ?:0, all lines merged).
// Each map's grows are counted here by watching bucket_count().
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

typedef std::unordered_map<std::string, std::unordered_set<int>> index_t;

static std::string word_of(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return "w" + std::to_string((*x >> 8) % 2000);
}

__attribute__((noinline)) static void nested(int two)
{
	index_t idx;
	unsigned x = 1, outer_grows = 0, inner_grows = 0;
	for (int doc = 0; doc < 4000; doc++) {
		for (int w = 0; w < 3; w++) {
			std::string word = word_of(&x);
			size_t ob = idx.bucket_count();
			auto it = idx.find(word);
			size_t ib = it == idx.end() ? 1 : it->second.bucket_count();
			if (!two)
				idx[word].insert(doc); /* NESTED */
			else
				idx.try_emplace(word).first->second.emplace(doc); /* NESTED2 */
			outer_grows += idx.bucket_count() > ob;
			inner_grows += idx[word].bucket_count() > ib;
		}
	}
	std::printf("%s 1 %u %zu %u\n", two ? "nested2" : "nested", outer_grows, idx.size(),
		    inner_grows);
}

__attribute__((noinline)) static void mixed(void)
{
	unsigned grows = 0;
	for (int r = 0; r < 30; r++) {
		std::unordered_map<int, int> m;
		for (int i = 0; i < 100; i++) {
			size_t b = m.bucket_count();
			(i & 1) ? (void)m.emplace(i, i) : (void)(m[i] = i); /* MIXED */
			grows += m.bucket_count() > b;
		}
	}
	std::printf("mixed 30 %u\n", grows);
}

__attribute__((noinline)) static void constructed(void)
{
	std::vector<int> src(300);
	for (int i = 0; i < 300; i++)
		src[i] = i;
	std::vector<std::unordered_set<int>> sets;
	for (int r = 0; r < 50; r++)
		sets.emplace_back(src.begin(), src.end()); /* RANGE */
	std::map<int, std::unordered_set<int>> byid;
	unsigned sized = 0;
	for (int w = 0; w < 200; w++) {
		auto it = byid.emplace(w, 64).first; /* SIZED */
		sized += it->second.bucket_count() > 1;
	}
	std::printf("range %zu\nsized %u %u\n", sets.size(), sized, sized);
}

int main()
{
	nested(0);
	nested(1);
	mixed();
	constructed();
	return 0;
}
