#!/bin/sh
# deps.sh - makes sure the tools gort's build and tests need are installed.
#
# Checks each tool and installs only the Debian packages of those that are
# missing (apt-get update + install; sudo when not root).  When everything is
# present it only looks, and takes a fraction of a second.  `make test`,
# `make run` and .ci/run call it first.
#
# Later features add a line to the table in check_all (command + package).
# GORT_DEPS_DRYRUN=1 prints what it would install instead.
set -eu

missing=""

# need COMMAND PACKAGE: PACKAGE is installed if COMMAND is not on PATH.
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        case " $missing " in *" $2 "*) ;; *) missing="$missing $2" ;; esac
        missing_cmd="$missing_cmd $1"
    fi
}

# need_file PATH PACKAGE: PACKAGE is installed if PATH does not exist
# (headers of a library the build uses when present).
need_file() {
    if [ ! -e "$1" ]; then
        case " $missing " in *" $2 "*) ;; *) missing="$missing $2" ;; esac
        missing_cmd="$missing_cmd $1"
    fi
}

# need_link COMPILER FLAGS PACKAGE: PACKAGE is installed if COMPILER cannot
# link a trivial program with FLAGS (sanitizer runtimes ship separately).
need_link() {
    command -v "$1" >/dev/null 2>&1 || return 0
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/gort-deps.XXXXXX")
    printf 'int main(void) { return 0; }\n' >"$tmp/t.c"
    # shellcheck disable=SC2086
    if ! "$1" $2 "$tmp/t.c" -o "$tmp/t" >/dev/null 2>&1; then
        case " $missing " in *" $3 "*) ;; *) missing="$missing $3" ;; esac
        link_failed="$link_failed $1($2)"
    fi
    rm -rf "$tmp"
}

clang_rt_pkg() {
    # Debian names the clang sanitizer runtimes after clang's major version.
    v=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n1)
    echo "libclang-rt-${v:-14}-dev"
}

check_all() {
    missing=""
    missing_cmd=""
    link_failed=""
    need cmake cmake
    need make build-essential
    need cc build-essential
    need gcc build-essential
    # cxx.installed builds C++ programs against the library.
    need c++ build-essential
    need nm binutils
    need clang clang
    need pkg-config pkg-config
    need setarch util-linux
    # file:line in tracebacks (optional to CMake, installed here).
    need_file /usr/include/elfutils/libdwfl.h libdw-dev
    need_file /usr/include/libelf.h libelf-dev
    # A fully static link through `pkg-config --static gort` (check-install):
    # libdw.a needs bzip2's archive, which libdw-dev does not pull in.
    need_file /usr/include/bzlib.h libbz2-dev
    # The sanitizer presets: gcc's ASan/UBSan (libasan, libubsan come with
    # gcc), clang's TSan (libclang-rt-N-dev).
    need_link cc "-fsanitize=address,undefined" build-essential
    need_link clang "-fsanitize=thread" "$(clang_rt_pkg)"
    # examples/httpd parses with Debian's http-parser; the kvstore test
    # drives the server with the real redis-cli.
    need_file /usr/include/http_parser.h libhttp-parser-dev
    need redis-cli redis-tools
    # The profile and trace tests read gort's output with the real
    # `go tool pprof` and `go tool trace`.
    need go golang-go
    # The gdb tests (tests/gdb: gort-gdb.py on a live process and a core).
    need gdb gdb
    # `make bench` / `make bench-net` (GORT_DEPS_BENCH=1): the Go reference,
    # wrk and redis-server to compare against.
    if [ "${GORT_DEPS_BENCH:-0}" = 1 ]; then
        need go golang-go
        need wrk wrk
        need redis-server redis-server
        need redis-benchmark redis-tools
        need python3 python3
    fi
}

check_all
if [ -z "$missing" ]; then
    exit 0
fi

echo "deps.sh: installing missing packages:$missing"
if [ "${GORT_DEPS_DRYRUN:-0}" = 1 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: no apt-get here; install these packages (or their equivalents) by hand:$missing" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps.sh: not root and no sudo; as root run: apt-get install -y$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing </dev/null

# clang was perhaps just installed: its sanitizer runtime may still be missing.
check_all
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing </dev/null
    check_all
    if [ -n "$missing_cmd" ]; then
        echo "deps.sh: still missing after install:$missing_cmd" >&2
        exit 1
    elif [ -n "$link_failed" ]; then
        # The tools are there; the build will show why this link fails.
        echo "deps.sh: warning: cannot link a test program with:$link_failed" >&2
    fi
fi
echo "deps.sh: all dependencies present"
