// SPDX-License-Identifier: MIT
/* Which demangled names --maps takes for the map implementation's own code (analyzer/churn.c):
 * the function's own qualified name decides, never its return type, parameters, qualifiers or
 * clone suffixes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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
	    "main",
	};
	for (size_t i = 0; i < sizeof(user) / sizeof(user[0]); i++)
		if (mp_churn_impl_name(user[i]))
			fail_msg("taken for the implementation: %s", user[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(implementation),
	    cmocka_unit_test(user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
