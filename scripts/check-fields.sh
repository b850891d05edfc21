#!/usr/bin/env bash
# check-fields.sh - no dead state in src/runtime.h: every field of every
# struct declared there must be read somewhere in src/ outside its
# declaration, and set somewhere (assigned, incremented, initialised by
# name, or its address taken for an atomic or a call).  Fails listing the
# fields that are not.
#
# Also checks that every field is tagged with its discipline from the
# vocabulary at the top of runtime.h (STYLE.md section 3).
#
# The check is textual: a set is `.name`/`->name` followed by `=` or
# `op=` (designated initialisers included); `&x->name` and `++`/`--` both
# read and set; every other `.name`/`->name` reads.  A field name shared with another struct
# can hide a dead field (the check then passes); it never reports a field
# that is used.
#
# Usage: scripts/check-fields.sh [srcdir]   (default: src)
set -euo pipefail

cd "$(dirname "$0")/.."
src=${1:-src}
header=$src/runtime.h

# The fields: "struct field" per line.  Comments are stripped first; a
# field is a declaration ending in ';' at brace depth 1 of a struct body.
fields=$(
    sed -e 's://.*$::' "$header" |
        awk '
        # Strip /* ... */ comments, possibly spanning lines.
        {
            line = $0
            out = ""
            while (length(line) > 0) {
                if (incomment) {
                    i = index(line, "*/")
                    if (i == 0) { line = ""; break }
                    line = substr(line, i + 2)
                    incomment = 0
                } else {
                    i = index(line, "/*")
                    if (i == 0) { out = out line; line = ""; break }
                    out = out substr(line, 1, i - 1) " "
                    line = substr(line, i + 2)
                    incomment = 1
                }
            }
            $0 = out
        }
        /^[ \t]*(typedef[ \t]+)?struct[ \t]+[A-Za-z_0-9]+[ \t]*\{/ && depth == 0 {
            match($0, /struct[ \t]+[A-Za-z_0-9]+/)
            name = substr($0, RSTART, RLENGTH)
            sub(/struct[ \t]+/, "", name)
            depth = 1
            next
        }
        depth > 0 {
            n = gsub(/\{/, "{")
            m = gsub(/\}/, "}")
            if (depth == 1 && $0 ~ /;/ && n == 0 && m == 0) {
                decl = $0
                if (match(decl, /\(\*[ \t]*[A-Za-z_0-9]+[ \t]*\)/)) {
                    f = substr(decl, RSTART + 2, RLENGTH - 3)
                    gsub(/[ \t]/, "", f)
                    print name, f
                } else {
                    sub(/;.*/, "", decl)
                    gsub(/\[[^]]*\]/, "", decl)
                    nf = split(decl, parts, ",")
                    for (k = 1; k <= nf; k++) {
                        p = parts[k]
                        sub(/[ \t]+$/, "", p)
                        if (match(p, /[A-Za-z_][A-Za-z_0-9]*$/))
                            print name, substr(p, RSTART, RLENGTH)
                    }
                }
            }
            depth += n - m
            next
        }'
)

if [[ -z $fields ]]; then
    echo "check-fields: no fields found in $header (parser broken?)" >&2
    exit 1
fi

# Every source line but the declarations themselves (runtime.h is searched
# too: its inline functions and macros count, its field lines do not).
corpus=$(mktemp "${TMPDIR:-/tmp}/gort-fields.XXXXXX")
trap 'rm -f "$corpus"' EXIT
for f in "$src"/*.c "$src"/*.h "$src"/arch/*.h "$src"/arch/*.c; do
    [[ -f $f ]] || continue
    if [[ $f == "$header" ]]; then
        # Drop comments and the lines that declare fields (end in ';' inside
        # a struct); keep the rest.
        awk '/^[ \t]*(typedef[ \t]+)?struct[ \t]+[A-Za-z_0-9]+[ \t]*\{/ { d = 1; next }
             d && /^[ \t]*\}/ { d = 0; next }
             !d' "$f"
    else
        cat "$f"
    fi
done | sed -e 's://.*$::' -e 's/&&/ AND /g' >"$corpus"

bad=0
total=0
while read -r st field; do
    total=$((total + 1))
    acc="(\\.|->)[[:space:]]*$field\\b(\\[[^];]*\\])?"
    all=$(grep -oE "((atomic_[a-z_]+|[A-Z][A-Z0-9_]+|mem(cpy|set|move)|strn?cpy|snprintf)\\([[:space:]]*)?(&|\\+\\+|--)?[[:space:]]*[])A-Za-z_0-9]*$acc[[:space:]]*(\\+\\+|--|[-+*/|&^]?=[^=]|[^=]|$)" \
        "$corpus" || true)
    [[ -n $all ]] || {
        echo "check-fields: struct $st: field '$field' is never used in $src/"
        bad=$((bad + 1))
        continue
    }
    # atomic_load*(&f) reads, atomic_store*(&f) and atomic_init sets, other
    # atomics (exchange, fetch_*, compare_exchange) read and set (set only
    # where the result is dropped, below); any other
    # address taken, and ++/--, read and set; an assignment sets; anything
    # else reads.
    # A field passed to a macro (GORT_COUNTER_INC) counts as read and set.
    all=$(sed -E 's/^[A-Z][A-Z0-9_]+\([[:space:]]*/\&/' <<<"$all")
    # The destination of memcpy, memset, strcpy or snprintf is set.
    copies=$(grep -cE "^(mem(cpy|set|move)|strn?cpy|snprintf)\\(" <<<"$all" || true)
    all=$(grep -vE "^(mem(cpy|set|move)|strn?cpy|snprintf)\\(" <<<"$all" || true)
    loads=$(grep -cE "^atomic_load" <<<"$all" || true)
    stores=$(grep -cE "^atomic_(store|init)" <<<"$all" || true)
    rest=$(grep -vE "^atomic_(load|store|init)" <<<"$all" | sed -E 's/^atomic_[a-z_]+\([[:space:]]*/\&/' || true)
    both=$(grep -cE "^(&|\\+\\+|--)|(\\+\\+|--)$" <<<"$rest" || true)
    # Assigning 0, NULL or false resets, and does not count as a set.
    sets=$(grep -cE "[-+*/|&^]?=[^=]$" <<<"$rest" || true)
    zsets=$(grep -oE "(\\.|->)[[:space:]]*$field\\b(\\[[^];]*\\])?[[:space:]]*=[[:space:]]*(0|NULL|false)[[:space:]]*[;,)}]" "$corpus" | wc -l || true)
    reads=$(grep -cvE "^(&|\\+\\+|--)|(\\+\\+|--|[-+*/|&^]?=[^=])$" <<<"$rest" || true)
    [[ -n $rest ]] || reads=0
    # The destination of memcpy, memmove, memset and the string copies sets.
    copies=$(grep -cE "(memcpy|memmove|memset|strncpy|strcpy|snprintf)\\([[:space:]]*[A-Za-z_0-9]*$acc" "$corpus" || true)
    [[ -n $all ]] || { reads=0; loads=0; }
    # A read-modify-write atomic that is a statement of its own (its result
    # dropped, as a counter nothing reads) sets only.
    dropped=$(grep -cE "^[[:space:]]*(\\(void\\)[[:space:]]*)?atomic_(fetch_[a-z]+|exchange)(_explicit)?\\([[:space:]]*&[[:space:]]*[])A-Za-z_0-9]*$acc[[:space:]]*," \
        "$corpus" || true)
    sets=$((sets - zsets + both + stores + copies))
    reads=$((reads + both + loads - dropped))
    if ((reads == 0)); then
        echo "check-fields: struct $st: field '$field' is set but never read"
        bad=$((bad + 1))
    elif ((sets == 0)); then
        echo "check-fields: struct $st: field '$field' is read but never set"
        bad=$((bad + 1))
    fi
done <<<"$fields"

# Every field carries a tag of the vocabulary documented at the top of
# runtime.h, on its own line: /* [tag] ... */.
tags='immutable|owner (G|M|P|sysmon)|g0 only|atomic|atomic; write under [^]]+|atomic; write by owner P'
tags="$tags|handoff|sync|STW only|wait lock|[A-Za-z_.>-]*lock"
untagged=$(awk -v tags="^\\[($tags)\\]" '
    /^[ \t]*(typedef[ \t]+)?struct[ \t]+[A-Za-z_0-9]+[ \t]*\{/ { d = 1; next }
    d && /^\}/ { d = 0; next }
    d {
        code = $0
        sub(/\/\*.*/, "", code)
        if (code !~ /;/ || code ~ /^[ \t]*\*/)
            next
        c = $0
        if (!sub(/.*\/\*[ \t]*/, "", c) || c !~ tags)
            printf "%d: %s\n", NR, $0
    }' "$header")
if [[ -n $untagged ]]; then
    echo "$untagged"
    echo "check-fields: fields of $header above lack a tag of the documented vocabulary"
    bad=$((bad + 1))
fi

if ((bad != 0)); then
    echo "check-fields: $bad problem(s) with the $total fields of $header (see above)"
    exit 1
fi
echo "check-fields: ok ($total fields of $header read and set)"
