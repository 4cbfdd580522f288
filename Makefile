# SPDX-License-Identifier: GPL-2.0-or-later
# Godwit: a thin wrapper around configure + meson + ninja.
#
#   make              install missing packages (as root), configure, build
#   make check        build and run every test (unit + qtest); last line: N passed, N failed
#   make check-unit   unit tests only
#   make check-qtest  qtest-style tests only (start godwit processes)
#   make check-asan   unit tests and the monitor/migration qtests built with ASan+UBSan
#   make check-rdma-vm  opt-in: the RDMA migration test on soft-RoCE inside a Debian VM
#                     (debootstrap + qemu-system-x86_64; slow; not part of check)
#   make bench        build and run the benchmarks under tests/bench/ (prints figures)
#   make demo         the main job: boot the default guest and show it running
#   make fuzz         build-fuzz/ with clang + libFuzzer; run each tests/fuzz target FUZZ_SECONDS (30)
#   make lint         grep for banned patterns (printf diagnostics, private headers in hw/)
#   make clean        remove the build directory
#
# CI=true builds with -Werror.

BUILD ?= build
NINJA ?= ninja
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIGURE_FLAGS ?= $(if $(filter true,$(CI)),--enable-werror,)

.PHONY: all deps configure check check-unit check-qtest check-asan check-rdma-vm bench demo fuzz lint clean distclean

all: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD) -j$(JOBS)

deps:
	@sh scripts/install-deps.sh

$(BUILD)/build.ninja:
	@sh scripts/install-deps.sh
	./configure --builddir=$(abspath $(BUILD)) $(CONFIGURE_FLAGS)

configure:
	./configure --builddir=$(abspath $(BUILD)) $(CONFIGURE_FLAGS)

check: all
	@sh scripts/setup-test-host.sh
	python3 scripts/mtest-summary.py $(BUILD) --suite unit --suite qtest --num-processes 2

check-unit: all
	@sh scripts/setup-test-host.sh
	python3 scripts/mtest-summary.py $(BUILD) --suite unit --num-processes 2

check-qtest: all
	@sh scripts/setup-test-host.sh
	python3 scripts/mtest-summary.py $(BUILD) --suite qtest --num-processes 1

ASAN_BUILD ?= build-asan
ASAN_QTESTS = qmp-test hmp-test qtest-proto-test memory-backend-test migration-test

$(ASAN_BUILD)/build.ninja:
	@sh scripts/install-deps.sh
	./configure --builddir=$(abspath $(ASAN_BUILD)) --enable-sanitizers $(CONFIGURE_FLAGS)

check-asan: $(ASAN_BUILD)/build.ninja
	$(NINJA) -C $(ASAN_BUILD) -j$(JOBS)
	@sh scripts/setup-test-host.sh
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    python3 scripts/mtest-summary.py $(ASAN_BUILD) --suite unit --num-processes 2
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    python3 scripts/mtest-summary.py $(ASAN_BUILD) --num-processes 1 $(ASAN_QTESTS)

bench: all
	@sh scripts/install-deps.sh --bench
	meson test -C $(BUILD) --benchmark --verbose --num-processes 1

demo: all
	python3 scripts/demo.py $(BUILD)

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30

$(FUZZ_BUILD)/build.ninja:
	./configure --builddir=$(abspath $(FUZZ_BUILD)) --enable-fuzzing

FUZZ_TARGETS = $(patsubst %.c,%,$(wildcard tests/fuzz/fuzz-*.c))

fuzz: $(FUZZ_BUILD)/build.ninja
	$(NINJA) -C $(FUZZ_BUILD) -j$(JOBS) $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_BUILD)/tests/fuzz/fuzz-*; do \
	    [ -f "$$t" ] && [ -x "$$t" ] || continue; \
	    name=$$(basename $$t); corpus=$(FUZZ_BUILD)/fuzz-corpus/$$name; \
	    mkdir -p $$corpus; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/ $$corpus; \
	done

check-rdma-vm: all
	sh scripts/rdma-vm/run.sh $(abspath $(BUILD))

lint:
	sh scripts/lint.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

distclean: clean
