# gort - a thin wrapper over CMake presets (CMakePresets.json) and CTest.
#
#   make                 configure + build the release preset (build/release)
#   make run             build, then run the tour: build/release/tour
#   make test            dev, release, asan-ubsan, tsan: configure, build, ctest each; symbols;
#                        install check.  Ends with "N passed, 0 failed".
#                        PRESETS="dev" narrows it; CTEST_ARGS="-L unit" filters.
#   make bench           build release, run scripts/bench.sh (gort next to Go)
#   make bench-net       httpd vs Go net/http (wrk), kvstore vs redis-server
#                        (redis-benchmark), memory per idle connection
#   make fuzz            build the libFuzzer targets (fuzz preset, clang) and run each
#                        for FUZZ_SECONDS (default 60): scripts/fuzz.sh
#   make stress          build release, run the torture tests (scheduler, then heap) for
#                        DURATION seconds each (default 60;
#                        SEED=N repeats a run) and print its totals
#   make bench-race      race mode's cost: gort-bench -fsanitize=thread vs plain, next to Go's -race
#   make limits          build release, measure goroutines/timers gort and Go sustain here
#                        (scripts/limits.sh; capped at ~4 GiB RSS); not part of make test
#   make install         PREFIX=/usr/local (DESTDIR is honoured)
#   make package         build release, make the Debian packages libgort0 and libgort-dev
#                        (cpack) in build/release/packages, and check them in a scratch
#                        root (scripts/check-package.sh)
#   make format          clang-format -i over src include tests bench examples limits
#   make check-format    the same, as a check (fails on any difference)
#   make check-symbols   libgort.so exports only gort_*, libgort.a defines only gort_*
#   make check-install   install to a scratch prefix, build consumers (pkg-config, CMake)
#   make deps            install missing tools (scripts/deps.sh; apt-get on Debian)
#   make clean           remove build/
#
# Under CI (CI=true in the environment) warnings are errors (GORT_WERROR=ON).

PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PRESETS ?= dev release asan-ubsan tsan
CTEST_ARGS ?=
ifneq ($(filter true TRUE True 1 yes,$(CI)),)
GORT_WERROR ?= ON
else
GORT_WERROR ?= OFF
endif
CMAKE_ARGS ?=
CMAKE_CONFIGURE = cmake --preset $(1) -DGORT_WERROR=$(GORT_WERROR) $(CMAKE_ARGS)

FORMAT_DIRS := src include tests bench examples limits
FORMAT_FILES = $(shell find $(wildcard $(FORMAT_DIRS)) -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

MAKEFLAGS += --no-print-directory
export GORT_WERROR JOBS CTEST_ARGS

.PHONY: all build release run test bench bench-race bench-net stress limits install clean format \
	check-format check-symbols check-install deps need-cmake fuzz package

all: build

need-cmake:
	@command -v cmake >/dev/null 2>&1 || { \
	  echo "cmake is not installed: run 'scripts/deps.sh' (or 'make deps') first, as root or with sudo."; \
	  exit 1; }

build release: need-cmake
	@mkdir -p build
	@$(call CMAKE_CONFIGURE,release) >build/release.configure.log 2>&1 || \
	  { cat build/release.configure.log; exit 1; }
	@grep '^-- gort ' build/release.configure.log || true
	cmake --build --preset release -j $(JOBS)

run: deps
	@$(MAKE) --no-print-directory build
	./build/release/tour

test: deps
	@GORT_TEST_PRESETS="$(PRESETS)" scripts/test.sh

bench:
	@GORT_DEPS_BENCH=1 scripts/deps.sh
	@$(MAKE) --no-print-directory build
	GORT_BUILD_DIR=build/release scripts/bench.sh

# Race mode's cost (gort-bench built with -fsanitize=thread against the
# installed library) next to Go's -race: scripts/bench-race.sh.
bench-race:
	@GORT_DEPS_BENCH=1 scripts/deps.sh
	@$(MAKE) --no-print-directory build
	GORT_BUILD_DIR=build/release scripts/bench-race.sh

# The example servers against Go net/http and redis-server (wrk,
# redis-benchmark) and memory per idle connection: scripts/bench-net.sh.
bench-net:
	@GORT_DEPS_BENCH=1 scripts/deps.sh
	@$(MAKE) --no-print-directory build
	BUILD=$(CURDIR)/build/release scripts/bench-net.sh

fuzz: need-cmake
	@FUZZ_SECONDS="$(or $(FUZZ_SECONDS),60)" scripts/fuzz.sh

DURATION ?= 60
SEED ?=
stress: build
	GORT_TORTURE_SECONDS=$(DURATION) $(if $(SEED),GORT_TORTURE_SEED=$(SEED)) \
	  ./build/release/tests/stress_torture mixed && \
	GORT_TORTURE_SECONDS=$(DURATION) $(if $(SEED),GORT_TORTURE_SEED=$(SEED)) \
	  ./build/release/tests/stress_heap_torture graphs

limits: build
	GORT_BUILD_DIR=build/release scripts/limits.sh

install: build
	cmake --install build/release --prefix "$(PREFIX)"

package: build
	scripts/check-package.sh build/release
	@ls build/release/packages/*.deb

check-symbols: build
	scripts/check-symbols.sh build/release

check-install: build
	scripts/check-install.sh build/release

format:
	@command -v clang-format >/dev/null 2>&1 || { echo "clang-format missing: apt-get install clang-format"; exit 1; }
	@test -z "$(FORMAT_FILES)" || clang-format -i $(FORMAT_FILES)

check-format:
	@command -v clang-format >/dev/null 2>&1 || { echo "clang-format missing: apt-get install clang-format"; exit 1; }
	@test -z "$(FORMAT_FILES)" || clang-format --dry-run --Werror $(FORMAT_FILES)
	@echo "check-format: ok"

deps:
	@scripts/deps.sh

clean:
	rm -rf build
