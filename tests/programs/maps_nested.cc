// SPDX-License-Identifier: MIT
// Two maps made on one line: an inverted index, a map of sets filled by idx[word].insert(doc)
// (the line marked below). The outer map and the inner sets are two sites at that line (they were
// one, which mixed one map of 2000 words with 2000 sets of a few documents), told apart by their
// container in the report. Each map's grows are counted here by watching bucket_count().
#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>

int main()
{
	std::unordered_map<std::string, std::unordered_set<int>> idx;
	unsigned x = 1, outer_grows = 0, inner_grows = 0;
	for (int doc = 0; doc < 4000; doc++) {
		for (int w = 0; w < 3; w++) {
			x = x * 1103515245u + 12345u;
			std::string word = "w" + std::to_string((x >> 8) % 2000);
			size_t ob = idx.bucket_count();
			auto it = idx.find(word);
			size_t ib = it == idx.end() ? 1 : it->second.bucket_count();
			idx[word].insert(doc); /* NESTED_LINE */
			outer_grows += idx.bucket_count() > ob;
			inner_grows += idx[word].bucket_count() > ib;
		}
	}
	std::printf("outer 1 %u inner %zu %u\n", outer_grows, idx.size(), inner_grows);
	return 0;
}
