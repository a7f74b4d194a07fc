// SPDX-License-Identifier: MIT
/* Which demangled names --maps takes for the map implementation's own code (analyzer/churn.c):
 * the function's own qualified name decides, never its return type, parameters, qualifiers or
 * clone suffixes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "churn.h"

static void implementation(void **state)
{
	(void)state;
	const char *impl[] = {
	    "std::_Hashtable<int, std::pair<int const, int>, std::allocator<std::pair<int const, "
	    "int> > >::_M_rehash(unsigned long, unsigned long const&)",
	    "std::pair<std::__detail::_Node_iterator<std::pair<long const, long>, false, false>, "
	    "bool> std::_Hashtable<long, long>::_M_emplace<long&>(std::integral_constant<bool, "
	    "true>, long&)",
	    "std::_Hashtable<int, int>::_M_find_before_node(unsigned long, int const&, unsigned "
	    "long) const",
	    "std::_Hashtable<int, int>::_M_insert_unique_node(unsigned long, unsigned long, "
	    "std::__detail::_Hash_node<int, false>*, unsigned long) [clone .constprop.0]",
	    "std::_Hashtable<int, int>::_Hashtable(std::_Hashtable<int, int>&&) &",
	    "std::__detail::_Map_base<int, std::pair<int const, int> >::operator[](int const&)",
	    "std::unordered_map<int, int>::at(int const&) const",
	    "std::unordered_map<int, int>::operator[](int&&)",
	    "std::__debug::unordered_map<int, int>::operator[](int&&)", /* -D_GLIBCXX_DEBUG */
	    "std::__cxx1998::unordered_set<int>::insert(int const&)",
	    "mapprof_uthash_expand_fyi_",
	    "operator new(unsigned long)",
	    "operator new[](unsigned long, std::nothrow_t const&)",
	};
	for (size_t i = 0; i < sizeof(impl) / sizeof(impl[0]); i++)
		if (!mp_churn_impl_name(impl[i]))
			fail_msg("not taken for the implementation: %s", impl[i]);
}

static void user(void **state)
{
	(void)state;
	const char *user[] = {
	    "fill(std::unordered_map<int, int, std::hash<int>, std::equal_to<int>, "
	    "std::allocator<std::pair<int const, int> > >&)",
	    "filler<std::unordered_map<int, int> >::run(std::unordered_map<int, int>&, int)",
	    "std::unordered_map<int, int> make_map(int)",
	    "(anonymous namespace)::fill(std::unordered_map<int, int>&)",
	    "parse()::{lambda(int)#1}::operator()(int) const",
	    "Foo::operator()(std::_Hashtable<int, int>&) const",
	    "bool std::operator< <int>(std::vector<int> const&, std::vector<int> const&)",
	    "std::ostream& operator<<(std::ostream&, std::unordered_map<int, int> const&)",
	    "load_table",
	    "my::__debug::unordered_map<int>::get()",
	    "main",
	};
	for (size_t i = 0; i < sizeof(user) / sizeof(user[0]); i++)
		if (mp_churn_impl_name(user[i]))
			fail_msg("taken for the implementation: %s", user[i]);
}

/* A site's container as the user would write it: defaulted arguments left out at any depth,
 * std::string by that name, other arguments (a hasher of the program's) kept. */
static void short_types(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"std::unordered_map<std::__cxx11::basic_string<char, std::char_traits<char>, "
	     "std::allocator<char> >, std::unordered_set<int, std::hash<int>, std::equal_to<int>, "
	     "std::allocator<int> >, std::hash<std::__cxx11::basic_string<char, "
	     "std::char_traits<char>, std::allocator<char> > >, "
	     "std::equal_to<std::__cxx11::basic_string<char, std::char_traits<char>, "
	     "std::allocator<char> > >, std::allocator<std::pair<std::__cxx11::basic_string<char, "
	     "std::char_traits<char>, std::allocator<char> > const, std::unordered_set<int, "
	     "std::hash<int>, std::equal_to<int>, std::allocator<int> > > > >",
	     "std::unordered_map<std::string, std::unordered_set<int>>"},
	    {"std::unordered_set<int, std::hash<int>, std::equal_to<int>, std::allocator<int> >",
	     "std::unordered_set<int>"},
	    {"std::unordered_map<long, Foo<int, 3>, MyHash, std::equal_to<long>, "
	     "std::allocator<std::pair<long const, Foo<int, 3> > > >",
	     "std::unordered_map<long, Foo<int, 3>, MyHash>"},
	    {"std::unordered_set<std::pair<int, int>, PairHash>",
	     "std::unordered_set<std::pair<int, int>, PairHash>"},
	    /* a default before the program's own argument holds its place */
	    {"std::unordered_map<int, int, std::hash<int>, MyEq, std::allocator<std::pair<int "
	     "const, int> > >",
	     "std::unordered_map<int, int, std::hash<int>, MyEq>"},
	    /* what follows a template's arguments stays */
	    {"std::unordered_map<Graph<int>::Node*, std::vector<int, std::allocator<int> > "
	     "const*>",
	     "std::unordered_map<Graph<int>::Node*, std::vector<int> const*>"},
	    /* only std::string is std::string */
	    {"std::unordered_set<std::__cxx11::basic_string<char8_t, std::char_traits<char8_t>, "
	     "std::allocator<char8_t> > >",
	     "std::unordered_set<std::__cxx11::basic_string<char8_t>>"},
	    /* an operator's brackets are no template's */
	    {"std::unordered_set<X<&operator<<, 1> >", "std::unordered_set<X<&operator<<, 1>>"},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[512];
		mp_churn_short_type(cases[i][0], out, sizeof(out));
		assert_string_equal(cases[i][1], out);
	}
	/* more arguments than it keeps apart: the type as it is */
	char many[1024] = "std::unordered_set<std::tuple<int", out[1024];
	for (int i = 1; i < 40; i++)
		strcat(many, ", int");
	strcat(many, ">, H>");
	mp_churn_short_type(many, out, sizeof(out));
	assert_string_equal(many, out);
	char tiny[12]; /* cut short, still a string */
	mp_churn_short_type(cases[0][0], tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(implementation),
	    cmocka_unit_test(user),
	    cmocka_unit_test(short_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
