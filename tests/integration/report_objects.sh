#!/bin/bash
# SPDX-License-Identifier: MIT
# The objects behind the frames, as they are on disk when mapprof-report runs: a stripped
# binary run by several processes (each loads it at another address), a binary rebuilt since
# its run, one replaced while it ran (the kernel names it "PATH (deleted)"), and a file name
# with a newline in it, and split DWARF with and without its .dwo. Programs are built here.
. "$(dirname "$0")/lib.sh"

if [ ! -f "$LIB" ] || [ ! -x "$REPORT" ]; then
	ok "objects on disk # SKIP $LIB or $REPORT not built yet"
	exit 0
fi

cat >"$T/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) void *VERSION(size_t n) { return malloc(n); }
int main(int argc, char **argv)
{
	(void)argv;
	char c;
	if (argc > 1 && read(0, &c, 1) < 0) /* wait until told */
		return 1;
	static void *keep[10];
	for (int i = 0; i < 10; i++)
		keep[i] = VERSION(1000);
	printf("ok %p\n", keep[9] ? (void *)keep : NULL);
	return 0;
}
EOF
# build NAME VERSION: $T/NAME from prog.c with its allocating function named VERSION.
build() { cc -O1 -g -fpie -pie -DVERSION="$2" -o "$T/$1" "$T/prog.c"; }

# --- a stripped binary in two processes: one --top row per frame, not one per process (each
# process loads it at another address; the rows were split in two halves).
build progS stripped_fn && strip "$T/progS"
for i in 1 2; do mp_run "$T/strip" "$T/progS" >/dev/null 2>&1; done
one=$("$REPORT" --top 5 "$(ls "$T"/strip/*.mprof | head -1)" 2>/dev/null)
two=$("$REPORT" --top 5 "$T"/strip/*.mprof 2>/dev/null)
expect_eq "stripped binary in 2 processes: as many --top rows as for one" \
	"$(grep '^Showing' <<<"$one" | sed 's/, accounting.*//')" \
	"$(grep '^Showing' <<<"$two" | sed 's/, accounting.*//')"
check "stripped binary in 2 processes: its leaf frame is one row of 2 x 10 x 1000 B" \
	grep -qE '^ *19.53kB .*  progS\+0x' <<<"$two"

# --- rebuilt since the run: left unsymbolized, and go tool pprof must not name its frames after
# the new build's functions either (it re-symbolized them from the file on disk).
build progR first_version
mp_run "$T/rebuilt" "$T/progR" >/dev/null 2>&1
build progR second_version
"$REPORT" -o "$T/rebuilt.pb.gz" "$T"/rebuilt/*.mprof 2>"$T/rebuilt.err"
check "rebuilt binary: the report says so" grep -q 'progR: build ID .* differs' "$T/rebuilt.err"
if command -v go >/dev/null; then
	got=$(go tool pprof -top -sample_index=alloc_space "$T/rebuilt.pb.gz" 2>&1)
	check "rebuilt binary: go tool pprof names no function of the new build" \
		bash -c '! grep -q second_version <<<"$1" && grep -q "^ *9.77kB" <<<"$1"' _ "$got"
else
	ok "rebuilt binary: go tool pprof # SKIP go not installed"
fi

# --- replaced while it ran, by the same build (an install or an upgrade): symbolized from the
# file at the path the kernel called deleted, its build ID being the same.
build progD replaced_fn
mkfifo "$T/go"
mkdir -p "$T/deleted"
MAPPROF_RATE=1 MAPPROF_OUT="$T/deleted/mapprof.%p.%n.mprof" LD_PRELOAD="$LIB" \
	timeout 60 "$T/progD" wait <"$T/go" >"$T/deleted.out" 2>&1 &
pid=$!
exec 7>"$T/go" # the program is in its read: started
for _ in $(seq 50); do # until its executable is mapped
	grep -q progD "/proc/$pid/maps" 2>/dev/null && break
	sleep 0.1
done
cp "$T/progD" "$T/progD.new" && rm "$T/progD" && mv "$T/progD.new" "$T/progD"
echo >&7
exec 7>&-
wait "$pid"
top=$("$REPORT" --top "$T"/deleted/*.mprof 2>"$T/deleted.err")
check "replaced binary: the dump names it deleted" grep -qa 'progD (deleted)' "$T"/deleted/*.mprof
check "replaced binary: symbolized from the file now at its path" grep -q 'replaced_fn' <<<"$top"

# --- a newline in a file name: --folded stays one stack per line, --top one row per line.
nl=$'a\nb'
build "$nl" newline_fn && strip "$T/$nl"
mp_run "$T/newline" "$T/$nl" >/dev/null 2>&1
folded=$("$REPORT" --folded "$T"/newline/*.mprof 2>/dev/null)
check "newline in a file name: every --folded line ends in its value" \
	bash -c '[ -n "$1" ] && ! grep -qvE " [0-9]+$" <<<"$1"' _ "$folded"
top=$("$REPORT" --top "$T"/newline/*.mprof 2>/dev/null)
check "newline in a file name: --top shows it as a?b" grep -q 'a?b+0x' <<<"$top"

# --- a long file name: a frame's name kept its object but lost its offset (a 96-byte buffer),
# and --folded merged different stacks into one line. A made-up object of a 200-byte name.
long=/nonexistent/$(printf 'x%.0s' $(seq 200))
"$ROOT/$BUILD/tests/tools/mapprof-gendump" --fake-exe "$long" --samples 50 --stacks 10 \
	--depth 4 -o "$T/long.mprof"
"$ROOT/$BUILD/tests/tools/mapprof-gendump" --fake-exe /nonexistent/short --samples 50 \
	--stacks 10 --depth 4 -o "$T/short.mprof"
expect_eq "a 200-byte object name: --folded keeps as many stacks as with a short one" \
	"$("$REPORT" --folded "$T/short.mprof" 2>/dev/null | wc -l)" \
	"$("$REPORT" --folded "$T/long.mprof" 2>/dev/null | wc -l)"

# --- a program started through the loader (ld-linux-x86-64.so.2 ./prog): /proc/self/exe is the
# loader, and the program's frames were named after it (with its build ID: "differs").
ldso=$(readelf -l "$T/progR" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
if [ -x "$ldso" ]; then
	build progL loader_fn
	mp_run "$T/loader" "$ldso" "$T/progL" >/dev/null 2>&1
	top=$("$REPORT" --top 5 "$T"/loader/*.mprof 2>"$T/loader.err")
	check "started through the loader: the program's frames are named" grep -q loader_fn <<<"$top"
	check "started through the loader: no build ID warning" \
		bash -c '! grep -q "build ID" "$1"' _ "$T/loader.err"
else
	ok "started through the loader # SKIP no interpreter found"
fi

# --- split DWARF: the .dwo beside the binary gives the inlined frame; without it, one warning
# names the binary (the inlined frames were missing without a word).
cat >"$T/split.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
static inline __attribute__((always_inline)) void *inlined_make(int n)
{
	char *p = malloc(n); /* not a tail call: the frame stays */
	if (p)
		p[0] = 1;
	return p;
}
__attribute__((noinline)) void *split_site(int n) { return inlined_make(n); }
int main(void)
{
	static void *keep[10];
	for (int i = 0; i < 10; i++)
		keep[i] = split_site(100 + i);
	printf("ok %p\n", keep[9] ? (void *)keep : NULL);
	return 0;
}
EOF2
mkdir -p "$T/split" "$T/nodwo"
if (cd "$T/split" && cc -O2 -g -gsplit-dwarf -o prog ../split.c) &&
	(cd "$T/nodwo" && cc -O2 -g -gsplit-dwarf -o prog ../split.c && rm -f ./*.dwo); then
	for d in split nodwo; do
		mp_run "$T/$d/dumps" "$T/$d/prog" >/dev/null 2>&1
		"$REPORT" --folded "$T/$d/dumps"/*.mprof >"$T/$d.folded" 2>"$T/$d.err"
	done
	expect_eq "split DWARF found: the inlined frame, no warning" "1|0" \
		"$(grep -c 'split_site;inlined_make' "$T/split.folded")|$(grep -c warning "$T/split.err")"
	expect_eq "split DWARF missing: one warning naming the binary" "1" \
		"$(grep -c "^mapprof-report: warning: $T/nodwo/prog: its split DWARF" "$T/nodwo.err")"
else
	not_ok "cc -gsplit-dwarf"
fi

# Debug sections compressed with zstd (objcopy --compress-debug-sections=zstd, -gz=zstd), which
# this libdw cannot read (elfutils 0.189 can): one warning naming the binary and the way out
# (the names came without file:line and nothing said why); zlib's are read, no warning.
mkdir -p "$T/zstd" "$T/zlib"
if cc -O2 -g -o "$T/zstd/prog" "$T/split.c" && cp "$T/zstd/prog" "$T/zlib/prog" &&
	objcopy --compress-debug-sections=zstd "$T/zstd/prog" 2>/dev/null &&
	objcopy --compress-debug-sections=zlib "$T/zlib/prog"; then
	for d in zstd zlib; do
		mp_run "$T/$d/dumps" "$T/$d/prog" >/dev/null 2>&1
		"$REPORT" --folded "$T/$d/dumps"/*.mprof >"$T/$d.folded" 2>"$T/$d.err"
	done
	if grep -q 'split_site;inlined_make' "$T/zstd.folded"; then
		ok "zstd debug sections: this libdw reads them (# SKIP the warning)"
	else
		expect_eq "zstd debug sections: one warning naming the binary" "1" \
			"$(grep -c "^mapprof-report: warning: $T/zstd/prog: its debug information is compressed with zstd" "$T/zstd.err")"
	fi
	expect_eq "zlib debug sections: the inlined frame, no warning" "1|0" \
		"$(grep -c 'split_site;inlined_make' "$T/zlib.folded")|$(grep -c warning "$T/zlib.err")"
else
	ok "zstd debug sections # SKIP objcopy cannot compress with zstd here"
fi

# --- an object with two executable segments (node has three, its code in the third): the
# frames in the second are named (OBJECTS listed only the first segment: they were bare
# addresses, "<unknown>" in pprof, and "in code without symbols (stripped?)"), in PIE and not.
cat >"$T/twoseg.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline, section(".fartext"))) void *far_alloc(size_t n) { return malloc(n); }
__attribute__((noinline)) void *near_alloc(size_t n) { return malloc(n); }
int main(void)
{
	void *volatile a = far_alloc(1 << 20), *volatile b = near_alloc(1 << 19);
	printf("%d\n", a != NULL && b != NULL);
	free(a);
	free(b);
	return 0;
}
EOF
for pie in "-no-pie -fno-pie" "-pie -fpie"; do
	d=twoseg_${pie%% *}
	# the section 32 MiB above the rest, in a PT_LOAD of its own
	if cc -O1 -g $pie -o "$T/$d" "$T/twoseg.c" -Wl,--section-start=.fartext=0x2000000 2>"$T/$d.err" &&
		[ "$(readelf -lW "$T/$d" | grep -c 'LOAD.* R E ')" = 2 ]; then
		mp_run "$T/$d.dumps" "$T/$d" >/dev/null 2>&1
		got=$("$REPORT" --top 2 --sample-index alloc_space "$T/$d.dumps"/*.mprof 2>&1 |
			awk '/^ *[0-9.]+[kM]?B / {print $1, $6}')
		expect_eq "two executable segments ($pie): both functions named" \
			"1.00MB far_alloc
512.00kB near_alloc" "$got"
	else
		not_ok "the two-segment program builds ($pie)" "$(cat "$T/$d.err")"
	fi
done

# --- a FIFO where the executable was: one warning, the frames keep their addresses (the open
# blocked for ever, waiting for a writer).
build progF fifo_fn
mp_run "$T/fifo" "$T/progF" >/dev/null 2>&1
rm "$T/progF" && mkfifo "$T/progF"
timeout 20 "$REPORT" --top 5 "$T"/fifo/*.mprof >"$T/fifo.top" 2>"$T/fifo.err"
expect_eq "a FIFO at the executable's path: done, and one warning naming it" "0|1" \
	"$?|$(grep -c "^mapprof-report: warning: $T/progF: not a regular file" "$T/fifo.err")"

# --- a library opened as /proc/self/cwd/lib.so: the dump names the file mapped, not the /proc
# name, which in the report's process is another file (here, from another directory, an older
# build with another function at the same place: its name was given without a warning).
mkdir -p "$T/cwdA" "$T/cwdB"
printf '#include <stdlib.h>\nvoid *%s(size_t n) { return malloc(n); }\n' alpha_alloc \
	>"$T/cwdA/p.c"
printf '#include <stdlib.h>\nvoid *%s(size_t n) { return malloc(n); }\n' omega_alloc \
	>"$T/cwdB/p.c"
cat >"$T/cwdA/main.c" <<'EOF2'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	void *h = dlopen("/proc/self/cwd/libp.so", RTLD_NOW);
	void *(*f)(size_t) = h ? (void *(*)(size_t))dlsym(h, "alpha_alloc") : NULL;
	void *volatile p = f ? f(4242) : NULL;
	printf("%d\n", p != NULL);
	return 0;
}
EOF2
for d in cwdA cwdB; do
	(cd "$T/$d" && cc -O1 -g -shared -fpic -Wl,--build-id=none -o libp.so p.c)
done
if (cd "$T/cwdA" && cc -O1 -g -o main main.c -ldl && mp_run "$T/cwdA/dumps" ./main >/dev/null 2>&1); then
	check "dlopen of /proc/self/cwd/libp.so: the dump names the file" \
		grep -qa "$T/cwdA/libp.so" "$T"/cwdA/dumps/*.mprof
	got=$(cd "$T/cwdB" && "$REPORT" --folded "$T"/cwdA/dumps/*.mprof 2>/dev/null)
	check "dlopen of /proc/self/cwd/libp.so: named from the program's file, in another directory" \
		bash -c 'grep -q "main;alpha_alloc 4242$" <<<"$1" && ! grep -q omega <<<"$1"' _ "$got"
else
	not_ok "the /proc/self/cwd program builds and runs"
fi

# --- /proc not mounted (a chroot, a container that masks it): the executable is named from
# execve's file name, relative to where it started, or a script's interpreter (its frames were
# bare offsets, no object named, and nothing said why). As root, in a mount namespace.
build progN noproc_fn
printf '#!/bin/sh\necho script\n' >"$T/noproc.sh" && chmod +x "$T/noproc.sh"
if [ "$(id -u)" -eq 0 ] && unshare -m --propagation private true 2>/dev/null; then
	mkdir -p "$T/noproc"
	unshare -m --propagation private sh -c 'mount -t tmpfs none /proc && cd "$1" &&
		LD_PRELOAD="$2" MAPPROF_RATE=1 MAPPROF_OUT="$1/noproc/m.%p.mprof" ./progN &&
		LD_PRELOAD="$2" MAPPROF_OUT="$1/noproc/s.%p.mprof" ./noproc.sh' \
		_ "$T" "$LIB" >"$T/noproc.out" 2>&1 </dev/null
	expect_eq "/proc not mounted: the programs run, nothing said" "ok|script" \
		"$(sed 's/ .*//' "$T/noproc.out" | paste -sd'|')"
	check "/proc not mounted: the program's frames are named" grep -q noproc_fn \
		<("$REPORT" --top 5 "$T"/noproc/m.*.mprof 2>&1)
	check "/proc not mounted: a script's dump names its interpreter" \
		grep -qa '/bin/sh' "$T"/noproc/s.*.mprof
	# A script whose interpreter is relative (#!./progN), and one whose interpreter is that
	# script (nested): the program is named, not the script (review).
	printf '#!./progN\n' >"$T/rel.sh" && printf '#!%s\n' "$T/rel.sh" >"$T/nest.sh" &&
		chmod +x "$T/rel.sh" "$T/nest.sh"
	unshare -m --propagation private sh -c 'mount -t tmpfs none /proc && cd "$1" &&
		LD_PRELOAD="$2" MAPPROF_RATE=1 MAPPROF_OUT="$1/noproc/r.%p.mprof" ./rel.sh &&
		LD_PRELOAD="$2" MAPPROF_RATE=1 MAPPROF_OUT="$1/noproc/n.%p.mprof" ./nest.sh' \
		_ "$T" "$LIB" >/dev/null 2>&1 </dev/null
	for k in r n; do
		check "/proc not mounted: script $k: the program's frames are named" grep -q noproc_fn \
			<("$REPORT" --top 5 "$T"/noproc/$k.*.mprof 2>&1)
	done
else
	ok "/proc not mounted # SKIP needs root and unshare -m"
fi

# --- a program that chroots (a daemon): /proc/self/exe is read at start, for the dump at exit,
# when /proc is out of reach (its frames were bare offsets; review).
mkdir -p "$T/croot/d"
cat >"$T/chroot.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) void *chroot_fn(size_t n) { return malloc(n); }
int main(int argc, char **argv)
{
	static void *keep[10];
	for (int i = 0; i < 10; i++)
		keep[i] = chroot_fn(1000);
	if (argc < 2 || chroot(argv[1]) != 0 || chdir("/") != 0)
		return 3;
	printf("ok %d\n", keep[9] != NULL);
	return 0;
}
EOF2
if [ "$(id -u)" -ne 0 ]; then
	ok "a program that chroots # SKIP needs root"
elif cc -O1 -g -o "$T/chrootp" "$T/chroot.c"; then
	out=$(MAPPROF_RATE=1 MAPPROF_OUT=/d/m.%p.mprof LD_PRELOAD="$LIB" "$T/chrootp" "$T/croot" 2>&1)
	if [ $? = 3 ] && [ "$("$T/chrootp" "$T/croot" 2>&1; echo $?)" = 3 ]; then
		ok "a program that chroots # SKIP chroot refused here (no CAP_SYS_CHROOT)"
	else
		expect_eq "a program that chroots: runs as plain" "ok 1" "$out"
		check "a program that chroots: its frames are named" grep -q chroot_fn \
			<("$REPORT" --top 5 "$T"/croot/d/*.mprof 2>&1)
	fi
else
	not_ok "the chroot program builds"
fi

# --- a library opened as /dev/fd/N: named by the file mapped, as for /proc/self/fd/N (review)
cat >"$T/cwdA/devfd.c" <<'EOF2'
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/dev/fd/%d", open("libp.so", O_RDONLY));
	void *h = dlopen(path, RTLD_NOW);
	void *(*f)(size_t) = h ? (void *(*)(size_t))dlsym(h, "alpha_alloc") : NULL;
	void *volatile p = f ? f(4242) : NULL;
	printf("%d\n", p != NULL);
	return 0;
}
EOF2
if [ ! -e /dev/fd/0 ]; then
	ok "dlopen of /dev/fd/N # SKIP no /dev/fd here"
elif (cd "$T/cwdA" && cc -O1 -g -o devfd devfd.c -ldl && mp_run "$T/cwdA/devfd.d" ./devfd >/dev/null 2>&1); then
	got=$(cd "$T/cwdB" && "$REPORT" --folded "$T"/cwdA/devfd.d/*.mprof 2>/dev/null)
	check "dlopen of /dev/fd/N: named from the program's file, in another directory" \
		bash -c 'grep -q "main;alpha_alloc 4242$" <<<"$1" && ! grep -q omega <<<"$1"' _ "$got"
else
	not_ok "the /dev/fd program builds and runs"
fi

# --- a debug file that is a FIFO (where .gnu_debuglink's prog.debug was, or a .dwo): one
# warning naming it, the report done (dwfl's open blocked for ever; black-box QA).
mkdir -p "$T/dbgfifo"
if (cd "$T/dbgfifo" && cc -O1 -g -o prog "$T/split.c" && objcopy --only-keep-debug prog prog.debug &&
	strip -g prog && objcopy --add-gnu-debuglink=prog.debug prog &&
	cc -O1 -g -gsplit-dwarf -o prog2 "$T/split.c"); then
	mp_run "$T/dbgfifo/d1" "$T/dbgfifo/prog" >/dev/null 2>&1
	mp_run "$T/dbgfifo/d2" "$T/dbgfifo/prog2" >/dev/null 2>&1
	rm "$T/dbgfifo/prog.debug" "$T"/dbgfifo/*.dwo && mkfifo "$T/dbgfifo/prog.debug"
	dwo=$(readelf --debug-dump=info "$T/dbgfifo/prog2" 2>/dev/null |
		sed -n 's/.*DW_AT_\(GNU_\)\{0,1\}dwo_name.*: \([^ ]*\.dwo\).*/\2/p' | head -1)
	[ -n "$dwo" ] && mkfifo "$T/dbgfifo/$dwo"
	for d in d1 d2; do
		timeout 20 "$REPORT" --top 3 "$T/dbgfifo/$d"/*.mprof >"$T/dbgfifo/$d.top" 2>"$T/dbgfifo/$d.err"
		echo $? >"$T/dbgfifo/$d.rc"
	done
	expect_eq "a FIFO where prog.debug was: done, one warning naming it" "0|1" \
		"$(cat "$T/dbgfifo/d1.rc")|$(grep -c "^mapprof-report: warning: $T/dbgfifo/prog.debug: not a regular file" "$T/dbgfifo/d1.err")"
	expect_eq "a FIFO where the .dwo was: done, one warning naming it" "0|1" \
		"$(cat "$T/dbgfifo/d2.rc")|$(grep -c "^mapprof-report: warning: .*$dwo: not a regular file" "$T/dbgfifo/d2.err")"
	# The binary moved out of its build directory, a FIFO beside it where libdw looks first;
	# a binary without .gnu_debuglink, a FIFO at NAME.debug beside it (libdw looks there too).
	mkdir -p "$T/dbgfifo/moved" "$T/dbgfifo/nolink"
	mv "$T/dbgfifo/prog2" "$T/dbgfifo/moved/" && mkfifo "$T/dbgfifo/moved/$dwo" &&
		rm "$T/dbgfifo/$dwo" && : >"$T/dbgfifo/$dwo" # a file where it was built
	(cd "$T/dbgfifo/nolink" && cc -O1 -g -o prog "$T/split.c" && strip -g prog &&
		mkfifo prog.debug)
	mp_run "$T/dbgfifo/d3" "$T/dbgfifo/moved/prog2" >/dev/null 2>&1
	mp_run "$T/dbgfifo/d4" "$T/dbgfifo/nolink/prog" >/dev/null 2>&1
	for d in d3 d4; do
		timeout 20 "$REPORT" --top 3 "$T/dbgfifo/$d"/*.mprof >/dev/null 2>"$T/dbgfifo/$d.err"
		echo $? >"$T/dbgfifo/$d.rc"
	done
	expect_eq "a FIFO .dwo beside a moved binary, a FIFO NAME.debug without a debuglink: done" \
		"0|0|1|1" \
		"$(cat "$T/dbgfifo/d3.rc")|$(cat "$T/dbgfifo/d4.rc")|$(grep -c "moved/$dwo: not a regular file" "$T/dbgfifo/d3.err")|$(grep -c "nolink/prog.debug: not a regular file" "$T/dbgfifo/d4.err")"
else
	not_ok "the debug-file programs build"
fi

# --- Rust's symbols, v0-mangled (_R...) as the standard library's are: demangled in the text
# outputs as pprof does (they were shown mangled; black-box QA). Where rustc is installed.
if command -v rustc >/dev/null && [ -z "${SANITIZED:-}" ]; then
	mkdir -p "$T/rust"
	cat >"$T/rust/rsdm.rs" <<'REOF'
#[inline(never)]
fn make(n: usize) -> Vec<u8> {
    vec![1u8; n]
}
fn main() {
    let mut t = 0;
    for i in 0..1000 {
        let v = make(100 + i);
        t += std::hint::black_box(&v).len();
    }
    println!("{}", t);
}
REOF
	if rustc -g -C opt-level=1 -C symbol-mangling-version=v0 -o "$T/rust/rsdm" \
		"$T/rust/rsdm.rs" 2>"$T/rust.err"; then
		env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/rust/m.%p.%n.mprof" \
			"$T/rust/rsdm" >/dev/null
		got=$("$REPORT" --folded --sample-index alloc_space "$T/rust"/m.*.mprof 2>/dev/null |
			awk '$NF == 599500' | tr ';' '\n' | grep -c '^rsdm::main$\|^rsdm::make$\|^_R')
		expect_eq "Rust v0 symbols: demangled (rsdm::main, rsdm::make), none left mangled" 2 "$got"
	else
		not_ok "the Rust program builds" "$(cat "$T/rust.err")"
	fi
else
	ok "Rust v0 symbols # SKIP needs rustc, no sanitizer"
fi

# --- one stripped build at two paths (a copy: /usr/bin/git and /usr/lib/git-core/git): one
# --top row per offset, by its build ID (two rows that read the same; black-box QA)
mkdir -p "$T/twopath/a" "$T/twopath/b"
cat >"$T/twopath/p.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
void *volatile sink;
static __attribute__((noinline)) void leak(size_t n)
{
	sink = malloc(n);
}
int main(int c, char **v)
{
	for (int i = 0; i < atoi(v[1]); i++)
		leak(4096);
	puts("ok");
	return 0;
}
CEOF
if ${CC:-cc} -O2 -Wl,--build-id -o "$T/twopath/a/prog" "$T/twopath/p.c" 2>"$T/twopath.err" &&
	strip "$T/twopath/a/prog" && cp "$T/twopath/a/prog" "$T/twopath/b/prog"; then
	for r in "a 100" "b 300"; do
		set -- $r
		env LD_PRELOAD="$LIB" MAPPROF_RATE=1 MAPPROF_OUT="$T/twopath/m.%p.%n.mprof" \
			"$T/twopath/$1/prog" "$2" >/dev/null
	done
	rows=$("$REPORT" --top 20 "$T/twopath"/m.*.mprof 2>/dev/null | awk '$NF ~ /^prog\+0x/ { print $1, $NF }')
	expect_eq "one stripped build at two paths: one --top row per offset, the allocating one with both runs' bytes" \
		"1.56MB prog+0x|0" \
		"$(head -1 <<<"$rows" | sed 's/0x[0-9a-f]*$/0x/')|$(awk '{ print $2 }' <<<"$rows" | sort | uniq -d | wc -l)"
else
	not_ok "the two-path program builds" "$(cat "$T/twopath.err")"
fi
