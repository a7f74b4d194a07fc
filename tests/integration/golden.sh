#!/bin/bash
# SPDX-License-Identifier: MIT
# Golden files: mapprof-report on the checked-in tests/golden/small.dump must give exactly the
# checked-in decoded outputs. A difference is either a bug or a deliberate change; for the
# latter run scripts/regen-golden.sh and review the diff.
. "$(dirname "$0")/lib.sh"

G=tests/golden
TOOLS=$BUILD/tests/tools
golden() { # NAME EXPECTED-FILE CMD...
	local name=$1 expected=$2
	shift 2
	local out
	out=$("$@" 2>/dev/null)
	if [ "$out" == "$(cat "$expected")" ]; then
		ok "$name"
	else
		not_ok "$name" "$(diff <(echo "$out") "$expected" | head -20)" \
			"(scripts/regen-golden.sh if the change is deliberate)"
	fi
}
"$REPORT" -o "$T/heap.pb.gz" $G/small.dump 2>/dev/null
golden "golden heap profile" $G/small.heap.txt "$TOOLS/mapprof-pbdump" "$T/heap.pb.gz"
"$REPORT" --profile grow -o "$T/grow.pb.gz" $G/small.dump 2>/dev/null
golden "golden grow profile" $G/small.grow.txt "$TOOLS/mapprof-pbdump" "$T/grow.pb.gz"
golden "golden --top" $G/small.top.txt "$REPORT" --top 10 $G/small.dump
golden "golden --folded" $G/small.folded.txt "$REPORT" --folded --sample-index alloc_space \
	$G/small.dump
