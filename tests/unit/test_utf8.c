// SPDX-License-Identifier: MIT
/* mp_utf8_len (analyzer/util.c): what the JSON writers copy as it is. A path is bytes, JSON is
 * UTF-8: a byte that starts no well-formed sequence becomes U+FFFD instead of a file that JSON
 * parsers reject. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util.h"

#define LEN(s) mp_utf8_len((const unsigned char *)(s))

static void well_formed(void **state)
{
	(void)state;
	assert_int_equal(LEN("\xc3\xa9"), 2);	      /* é */
	assert_int_equal(LEN("\xc2\x80"), 2);	      /* U+0080, the first of two bytes */
	assert_int_equal(LEN("\xe2\x82\xac"), 3);     /* € */
	assert_int_equal(LEN("\xe0\xa0\x80"), 3);     /* U+0800 */
	assert_int_equal(LEN("\xed\x9f\xbf"), 3);     /* U+D7FF, below the surrogates */
	assert_int_equal(LEN("\xef\xbf\xbd"), 3);     /* U+FFFD */
	assert_int_equal(LEN("\xf0\x9f\x98\x80"), 4); /* U+1F600 */
	assert_int_equal(LEN("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF, the last */
}

static void ill_formed(void **state)
{
	(void)state;
	assert_int_equal(LEN("\xff"), 0);	      /* never in UTF-8 */
	assert_int_equal(LEN("\x80"), 0);	      /* a continuation byte first */
	assert_int_equal(LEN("\xc0\xaf"), 0);	      /* overlong '/' */
	assert_int_equal(LEN("\xc1\xbf"), 0);	      /* overlong */
	assert_int_equal(LEN("\xe0\x9f\xbf"), 0);     /* overlong three bytes */
	assert_int_equal(LEN("\xed\xa0\x80"), 0);     /* a surrogate (U+D800) */
	assert_int_equal(LEN("\xf0\x8f\xbf\xbf"), 0); /* overlong four bytes */
	assert_int_equal(LEN("\xf4\x90\x80\x80"), 0); /* past U+10FFFF */
	assert_int_equal(LEN("\xf5\x80\x80\x80"), 0);
	assert_int_equal(LEN("\xc3"), 0); /* cut short by the string's end */
	assert_int_equal(LEN("\xe2\x82"), 0);
	assert_int_equal(LEN("\xe2\x82x"), 0);
	assert_int_equal(LEN("\xf0\x9f\x98"), 0);
}

/* mp_utf8_fixed: what the profile's string table holds (proto3 strings must be UTF-8). */
static void fixed(void **state)
{
	(void)state;
	assert_null(mp_utf8_fixed(""));
	assert_null(mp_utf8_fixed("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_null(mp_utf8_fixed("caf\xc3\xa9 \xf0\x9f\x98\x80"));
	char *f = mp_utf8_fixed("/tmp/bad\xff"
				"dir/a\xc3");
	assert_non_null(f);
	assert_string_equal(f, "/tmp/bad\xef\xbf\xbd"
			       "dir/a\xef\xbf\xbd");
	free(f);
	/* every byte of an ill-formed sequence on its own; a well-formed one after it kept */
	f = mp_utf8_fixed("\xe2\x82x\xe2\x82\xac\xed\xa0\x80");
	assert_non_null(f);
	assert_string_equal(f, "\xef\xbf\xbd\xef\xbf\xbdx\xe2\x82\xac"
			       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(well_formed),
	    cmocka_unit_test(ill_formed),
	    cmocka_unit_test(fixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
