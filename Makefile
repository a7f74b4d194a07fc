# SPDX-License-Identifier: MIT
# mapprof: one top-level Makefile. Sources are found by directory, so adding a file to
# preload/, analyzer/, tests/unit/ or tests/programs/ needs no edit here. Outputs only under
# $(BUILD) (build/ by default). Quiet by default; V=1 for commands, WERROR=1 to fail on warnings,
# SANITIZER=address,undefined to instrument the analyzer and the unit tests.

BUILD ?= build
CC ?= cc
CXX ?= c++
V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

STD := -std=gnu11
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT ?= -O2
DEBUG := -g
DEPFLAGS = -MMD -MP
SANFLAGS :=
ifneq ($(SANITIZER),)
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
INCLUDES := -Iinclude -Ipreload -Ianalyzer -I$(BUILD)/gen -I/usr/include/x86_64-linux-gnu

# The shim runs inside the profiled program: PIC, hidden by default, initial-exec TLS so the
# malloc path never calls __tls_get_addr (which may itself allocate).
PRELOAD_CFLAGS := $(STD) $(WARN) $(OPT) $(DEBUG) $(INCLUDES) -fPIC -fvisibility=hidden \
	-ftls-model=initial-exec -fno-omit-frame-pointer -D_GNU_SOURCE $(CFLAGS)
PRELOAD_LIBS := -lunwind -ldl -lpthread -lm
ANALYZER_CFLAGS := $(STD) $(WARN) $(OPT) $(DEBUG) $(INCLUDES) -D_GNU_SOURCE $(SANFLAGS) $(CFLAGS)
ANALYZER_LIBS := -ldw -lelf -lprotobuf-c -lz -lm -liberty
TEST_LIBS := -lcmocka
# Test programs: built like a user's program with debug info; never with sanitizers (they run
# under the shim).
PROG_CFLAGS := -O1 -g -fno-omit-frame-pointer -Iinclude -Wall -Wno-unused-result -D_GNU_SOURCE
PROG_CXXFLAGS := -std=gnu++17 -O1 -g -fno-omit-frame-pointer -Iinclude -Wall

PRELOAD_SRC := $(wildcard preload/*.c)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/obj/%.o)
PROTO_SRC := $(BUILD)/gen/profile.pb-c.c
PROTO_OBJ := $(BUILD)/obj/gen/profile.pb-c.o
ANALYZER_SRC := $(wildcard analyzer/*.c)
ANALYZER_OBJ := $(ANALYZER_SRC:%.c=$(BUILD)/obj/%.o)
ANALYZER_LIB_OBJ := $(filter-out $(BUILD)/obj/analyzer/main.o,$(ANALYZER_OBJ)) $(PROTO_OBJ)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
PROG_C := $(wildcard tests/programs/*.c)
PROG_CC := $(wildcard tests/programs/*.cc)
PROG_BIN := $(PROG_C:tests/programs/%.c=$(BUILD)/tests/programs/%) \
	$(PROG_CC:tests/programs/%.cc=$(BUILD)/tests/programs/%)

LIB := $(BUILD)/libmapprof.so
REPORT := $(BUILD)/mapprof-report

.PHONY: all deps check check-sanitize unit programs bench bench-quick fuzz demo format \
	format-check install clean
all: $(LIB) $(REPORT)

deps:
	$(Q)scripts/install-deps.sh

$(BUILD)/obj/preload/%.o: preload/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(PRELOAD_CFLAGS) $(DEPFLAGS) -c $< -o $@

# cxx.c forwards C++ operator new, which may throw through it: it needs unwind tables and
# cleanups that run during unwinding.
$(BUILD)/obj/preload/cxx.o: PRELOAD_CFLAGS += -fexceptions
# fast.c's entry points reach the shim only by tail calls: without a frame of their own they
# save a push, a move and a pop per call, and the slow path's frame record still points at the
# program (fast.c says why). -fexceptions: operator new's slow path may throw through them.
$(BUILD)/obj/preload/fast.o: PRELOAD_CFLAGS += -fomit-frame-pointer -fexceptions

# The export list is the interposed names and the public API only (tests/unit checks nm -D).
$(LIB): $(PRELOAD_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -o $@ $^ $(PRELOAD_LIBS) -Wl,-z,now -Wl,-z,nodelete -Wl,--no-undefined \
		$(LDFLAGS)

$(BUILD)/libmp_preload.a: $(PRELOAD_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(PROTO_SRC): analyzer/profile.proto
	@mkdir -p $(@D)
	@$(if $(Q),echo "  PROTOC  $<")
	$(Q)protoc-c --proto_path=analyzer --c_out=$(BUILD)/gen analyzer/profile.proto

$(PROTO_OBJ): $(PROTO_SRC)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ANALYZER_CFLAGS) -w -c $< -o $@

$(BUILD)/obj/analyzer/%.o: analyzer/%.c $(PROTO_SRC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ANALYZER_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libmp_analyzer.a: $(ANALYZER_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(REPORT): $(BUILD)/obj/analyzer/main.o $(BUILD)/libmp_analyzer.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(ANALYZER_LIBS) $(LDFLAGS)

# Unit tests link the module objects directly (static archives pull in only what they use).
$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libmp_analyzer.a $(BUILD)/libmp_preload.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ANALYZER_CFLAGS) $(DEPFLAGS) -o $@ $< $(BUILD)/libmp_analyzer.a \
		$(BUILD)/libmp_preload.a $(TEST_LIBS) $(ANALYZER_LIBS) -lunwind -ldl -lpthread

$(BUILD)/tests/programs/%: tests/programs/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) $(DEPFLAGS) -o $@ $< -lpthread -ldl -lm

$(BUILD)/tests/programs/%: tests/programs/%.cc
	@mkdir -p $(@D)
	$(Q)$(CXX) $(PROG_CXXFLAGS) $(DEPFLAGS) -o $@ $< -lpthread

# Frames known only from the CFI (the shim's stack cache must not rely on frame pointers).
$(BUILD)/tests/programs/shim_stackcache: PROG_CXXFLAGS += -O2 -fomit-frame-pointer
$(BUILD)/tests/programs/shim_maploop: PROG_CXXFLAGS += -O2 -fomit-frame-pointer
$(BUILD)/tests/programs/shim_realign: PROG_CFLAGS += -O2 -fomit-frame-pointer
$(BUILD)/tests/programs/shim_varframe: PROG_CFLAGS += -O2 -fomit-frame-pointer
# reserve()/rehash() ending in a tail call to the rehash (maps.sh).
$(BUILD)/tests/programs/maps_tailgrow: PROG_CXXFLAGS += -O2 -fno-exceptions -fomit-frame-pointer
# One line's maps for many callers at -O0: the line is deeper in each stack (maps.sh).
$(BUILD)/tests/programs/maps_callers_O0: tests/programs/maps_callers.cc
	@mkdir -p $(@D)
	$(Q)$(CXX) $(PROG_CXXFLAGS) -O0 -o $@ $< -lpthread
programs: $(BUILD)/tests/programs/maps_callers_O0
# A C++ library for a C host (shim_cxxlocal_host) to dlopen RTLD_LOCAL.
$(BUILD)/tests/programs/shim_cxxlocal: PROG_CXXFLAGS += -shared -fPIC

unit: $(UNIT_BIN)
programs: $(PROG_BIN)

check: deps
	$(Q)$(MAKE) --no-print-directory all unit programs
	$(Q)BUILD=$(BUILD) scripts/run-tests.sh

check-sanitize: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/san SANITIZER=address,undefined \
		all unit programs
	$(Q)BUILD=build/san SANITIZED=1 scripts/run-tests.sh

fuzz: deps all
	$(Q)BUILD=$(BUILD) scripts/fuzz.sh $(FUZZ_SECONDS)

# --- bench ---
# The workloads, the null shim and the launcher are built by scripts/bench.sh into
# $(BUILD)/bench/ (it checks include/mapprof/uthash.h on every run). `all` is attempted but a
# shim or analyzer that does not build is reported by the bench as "not built", not fatal.
bench:
	-$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/install-deps.sh --bench
	$(Q)BUILD=$(BUILD) scripts/bench.sh full

bench-quick:
	-$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/bench.sh quick
# --- end bench ---

demo: deps
	$(Q)$(MAKE) --no-print-directory all programs
	$(Q)BUILD=$(BUILD) scripts/demo.sh

FORMAT_FILES = $(wildcard preload/*.[ch] analyzer/*.[ch] include/*.h include/mapprof/*.h \
	tests/unit/*.[ch] tests/programs/*.c tests/programs/*.cc tests/bench/*.c tests/bench/*.cc \
	tests/fuzz/*.c tests/demo/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

PREFIX ?= /usr/local
install: all
	install -D -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libmapprof.so
	install -D -m 0755 $(REPORT) $(DESTDIR)$(PREFIX)/bin/mapprof-report
	install -D -m 0644 include/mapprof.h $(DESTDIR)$(PREFIX)/include/mapprof.h
	install -D -m 0644 include/mapprof/uthash.h $(DESTDIR)$(PREFIX)/include/mapprof/uthash.h

clean:
	rm -rf $(BUILD)

-include $(PRELOAD_OBJ:.o=.d) $(ANALYZER_OBJ:.o=.d) $(UNIT_BIN:%=%.d) $(PROG_BIN:%=%.d)

# --- analyzer tools (tests/tools, fuzz) ---
# Test tools built beside the unit tests: mapprof-gendump writes synthetic dumps (benchmark,
# goldens, fuzz seeds), mapprof-pbdump decodes profiles with the analyzer's own protobuf-c code.
TOOLS := $(BUILD)/tests/tools/mapprof-gendump $(BUILD)/tests/tools/mapprof-pbdump
.PHONY: tools
tools: $(TOOLS)
unit: $(TOOLS)

$(BUILD)/tests/tools/mapprof-gendump: tests/tools/mapprof-gendump.c tests/tools/dump_writer.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ANALYZER_CFLAGS) -o $@ $< -lelf

$(BUILD)/tests/tools/mapprof-pbdump: tests/tools/mapprof-pbdump.c $(PROTO_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ANALYZER_CFLAGS) -o $@ $< $(PROTO_OBJ) -lprotobuf-c -lz
# libunwcount.so counts the shim's full unwinds (preloaded after it: tests/integration). -O2
# (without frame pointers) makes its unw_backtrace a tail call, so the stacks captured are the same as without it.
$(BUILD)/tests/tools/libunwcount.so: tests/tools/unwcount.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(PROG_CFLAGS) -O2 -fomit-frame-pointer -shared -fPIC -o $@ $< -ldl
programs: $(BUILD)/tests/tools/libunwcount.so
FORMAT_FILES += $(wildcard tests/tools/*.[ch])

# --- maps test programs ---
# maps_uthash is built with the growth hooks force-included (the unmodified-source way) and
# again plain, for "the shim without the header sees no uthash events".
$(BUILD)/tests/programs/maps_uthash: tests/programs/maps_uthash.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
$(BUILD)/tests/programs/maps_uthash_plain: tests/programs/maps_uthash.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) $(DEPFLAGS) -o $@ $< -lpthread -ldl -lm
programs: $(BUILD)/tests/programs/maps_uthash_plain
# and at -O0, where the hooks are frames of their own rather than inlined
$(BUILD)/tests/programs/maps_uthash_O0: tests/programs/maps_uthash.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -O0 -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
programs: $(BUILD)/tests/programs/maps_uthash_O0
$(BUILD)/tests/programs/maps_ut_depth: tests/programs/maps_ut_depth.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -O0 -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
# 4 initial buckets: the first bucket array is as large as the table
$(BUILD)/tests/programs/maps_ut_small: tests/programs/maps_ut_small.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
# tables whose bucket array cannot be allocated: uthash frees them again (non-fatal OOM)
$(BUILD)/tests/programs/maps_ut_failmake: tests/programs/maps_ut_failmake.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -DHASH_NONFATAL_OOM=1 -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
programs: $(BUILD)/tests/programs/maps_ut_failmake
# with a bloom filter of 2^12 bits: 512 bytes, as large as the initial 32-bucket array
$(BUILD)/tests/programs/maps_uthash_bloom: tests/programs/maps_uthash.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -DHASH_BLOOM=12 -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
programs: $(BUILD)/tests/programs/maps_uthash_bloom
# and as non-PIE executables, whose weak references the linker would resolve to 0 for good
$(BUILD)/tests/programs/maps_uthash_nopie: tests/programs/maps_uthash.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -fno-pie -no-pie -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
$(BUILD)/tests/programs/maps_api_nopie: tests/programs/maps_api.c include/mapprof.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -fno-pie -no-pie -o $@ $< -lpthread -ldl -lm
programs: $(BUILD)/tests/programs/maps_uthash_nopie $(BUILD)/tests/programs/maps_api_nopie
# and in Intel assembler syntax, which the headers' GOT load must be written in too
$(BUILD)/tests/programs/maps_uthash_intel: tests/programs/maps_uthash.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -fno-pie -no-pie -masm=intel -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
$(BUILD)/tests/programs/maps_api_intel: tests/programs/maps_api.c include/mapprof.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -fno-pie -no-pie -masm=intel -o $@ $< -lpthread -ldl -lm
programs: $(BUILD)/tests/programs/maps_uthash_intel $(BUILD)/tests/programs/maps_api_intel
# and with the headers included under `#pragma GCC visibility push(hidden)`
$(BUILD)/tests/programs/maps_%_hidden: tests/programs/maps_%.c tests/programs/visibility_hidden.h \
		include/mapprof.h include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -include tests/programs/visibility_hidden.h -o $@ $< -lpthread -ldl -lm
programs: $(BUILD)/tests/programs/maps_uthash_hidden $(BUILD)/tests/programs/maps_api_hidden
$(BUILD)/tests/programs/maps_api_global_nopie: tests/programs/maps_api_global.cc include/mapprof.h
	@mkdir -p $(@D)
	$(Q)$(CXX) $(PROG_CXXFLAGS) -fno-pie -no-pie -o $@ $<
programs: $(BUILD)/tests/programs/maps_api_global_nopie
# one-item uthash tables made from 2^D distinct stacks
$(BUILD)/tests/programs/maps_capsites: tests/programs/maps_capsites.c include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -include mapprof/uthash.h -o $@ $<
# --- end maps test programs ---

# --- churn test programs ---
# The verdict programs of tests/integration/churn.sh: each is built as is (its verdict fires)
# and again with -DFIXED as <name>_fixed (its fixed twin, where the verdict must not fire).
# churn_ut_* are uthash programs, built with the growth hooks force-included.
CHURN_SRC := $(wildcard tests/programs/churn_*.c tests/programs/churn_*.cc)
CHURN_FIXED := $(patsubst tests/programs/%,$(BUILD)/tests/programs/%_fixed,$(basename $(CHURN_SRC)))
$(BUILD)/tests/programs/churn_ut_%: tests/programs/churn_ut_%.c tests/programs/churn_common.h \
		include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
$(BUILD)/tests/programs/churn_ut_%_fixed: tests/programs/churn_ut_%.c \
		tests/programs/churn_common.h include/mapprof/uthash.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(PROG_CFLAGS) -DFIXED -include mapprof/uthash.h -o $@ $< -lpthread -ldl -lm
$(BUILD)/tests/programs/churn_%: tests/programs/churn_%.cc tests/programs/churn_common.h
	@mkdir -p $(@D)
	$(Q)$(CXX) $(PROG_CXXFLAGS) -o $@ $< -lpthread
$(BUILD)/tests/programs/churn_%_fixed: tests/programs/churn_%.cc tests/programs/churn_common.h
	@mkdir -p $(@D)
	$(Q)$(CXX) $(PROG_CXXFLAGS) -DFIXED -o $@ $< -lpthread
programs: $(CHURN_FIXED)
# --- end churn test programs ---
