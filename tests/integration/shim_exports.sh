#!/bin/bash
# SPDX-License-Identifier: MIT
# The export list of libmapprof.so (nm -D --defined-only) against tests/exports.allow: any
# name not allowed fails, and the malloc family and mapprof_dump must be there.
. "$(dirname "$0")/lib.sh"
ALLOW=$ROOT/tests/exports.allow

if ! nm -D --defined-only "$LIB" >"$T/nm" 2>"$T/nm.err"; then
	not_ok "exports: nm -D failed" "$(cat "$T/nm.err")"
	exit 0
fi
# Name column, version suffix (@@VER) dropped.
awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' "$T/nm" | sort -u >"$T/names"
grep -v '^[[:space:]]*\(#\|$\)' "$ALLOW" | sed 's/[[:space:]]*$//' >"$T/patterns"

extra=()
while read -r name; do
	allowed=0
	while read -r pat; do
		# shellcheck disable=SC2053 # the allowlist holds globs
		if [[ "$name" == $pat ]]; then
			allowed=1
			break
		fi
	done <"$T/patterns"
	[ $allowed -eq 1 ] || extra+=("$name")
done <"$T/names"
if [ ${#extra[@]} -eq 0 ]; then
	ok "exports: every exported name is in tests/exports.allow ($(wc -l <"$T/names") names)"
else
	not_ok "exports: names exported but not allowed" "${extra[@]}"
fi

missing=()
for name in malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign valloc \
	pvalloc malloc_usable_size mapprof_dump; do
	grep -qx "$name" "$T/names" || missing+=("$name")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "exports: the malloc family and mapprof_dump are exported"
else
	not_ok "exports: required names missing" "${missing[@]}"
fi

# The checker itself must reject a name that is not allowed (guards against a pattern such as
# '*' slipping into the allowlist).
bad=0
while read -r pat; do
	# shellcheck disable=SC2053
	[[ "mp_table_lock" == $pat || "unw_backtrace" == $pat || "mapprof_internal" == $pat ]] && bad=1
done <"$T/patterns"
expect_eq "exports: allowlist rejects internal names (mp_*, unw_*, mapprof_internal)" 0 "$bad"
