#!/usr/bin/env bash
# check-sources.sh - nothing is silently not built: every .c file git tracks
# under src/ tests/ bench/ examples/ contrib/ limits/ must be named in the
# CMakeLists.txt that builds it (CMakeLists.txt lists every source one by
# one, with no file(GLOB)).  A file counts as named when its name, or its
# path relative to the repository, stands as a word of that CMakeLists.txt:
# the nearest one above the file (examples/httpd/ and contrib/pprof_http/
# have their own), else the top-level one.  tests/sanitizers/ is exempt:
# scripts/sanitizers.sh builds those programs against the installed library.
# Fails listing the files no list names.
#
# Usage: scripts/check-sources.sh   (from anywhere inside the repository)
set -euo pipefail

cd "$(dirname "$0")/.."
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "check-sources: not a git work tree; skipped"
    exit 0
fi

# The CMakeLists.txt that builds FILE: the nearest tracked one above it.
lists_for() {
    local dir
    dir=$(dirname "$1")
    while [[ $dir != . ]]; do
        if [[ -f $dir/CMakeLists.txt ]]; then
            echo "$dir/CMakeLists.txt"
            return
        fi
        dir=$(dirname "$dir")
    done
    echo CMakeLists.txt
}

missing=()
n=0
while IFS= read -r -d '' f; do
    case $f in
    tests/sanitizers/*) continue ;;
    esac
    n=$((n + 1))
    cml=$(lists_for "$f")
    base=$(basename "$f")
    # A word: bounded by the start or end of a line, white space, a quote,
    # a parenthesis or '/' (for ${PROJECT_SOURCE_DIR}/path/name.c).
    if ! grep -qE "(^|[[:space:]\"(/])($(sed 's/[.]/\\./g' <<<"$base")|$(sed 's/[.]/\\./g' <<<"$f"))([[:space:]\")]|$)" "$cml"; then
        missing+=("$f (not in $cml)")
    fi
done < <(git ls-files -z -- 'src/*.c' 'tests/*.c' 'bench/*.c' 'examples/*.c' 'contrib/*.c' 'limits/*.c')

if ((${#missing[@]})); then
    printf '%s\n' "${missing[@]}"
    echo "check-sources: tracked .c files that no CMake list names (above): add each to its list"
    exit 1
fi
echo "check-sources: ok ($n tracked .c files, each named in a CMakeLists.txt)"
