#!/usr/bin/env bash
# check-paths.sh - no absolute path of a build machine in a tracked file:
# the repository's own location, the user's home, and the usual homes of
# checkouts (/home/, /root/, /Users/, /work/, /mnt/, /srv/, /opt/...) must not
# appear in any file git tracks.  System paths (/usr/include, /proc/self,
# /dev/null, /tmp via mktemp, ...) are fine: they name the same thing on
# every machine.  Name what sits beside the repository relatively
# (../shared/reference/go/httphello).  Fails listing the lines.
#
# Usage: scripts/check-paths.sh   (from anywhere inside the repository)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd -P)
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "check-paths: not a git work tree; skipped"
    exit 0
fi

# Fixed prefixes of checkouts and homes, and this machine's own.
patterns=('/home/[A-Za-z0-9_.-]+' '/root/' '/Users/[A-Za-z0-9_.-]+' '/work/' '/mnt/' '/srv/'
    '/opt/[A-Za-z0-9_.-]+/')
patterns+=("$(sed 's/[][\.*^$]/\\&/g' <<<"$root")")
if [[ -n ${HOME:-} && $HOME != / ]]; then
    patterns+=("$(sed 's/[][\.*^$]/\\&/g' <<<"$HOME")/")
fi
regex=$(IFS='|'; echo "${patterns[*]}")

# A path starts after a quote, space, '(' or '=' or at the line's start, so
# that a URL (https://example.com/home/...) or a relative path
# (../work/...) does not count.
# (This script names the patterns, so it is not scanned itself.)
hits=$(git ls-files -z -- . ':!scripts/check-paths.sh' | xargs -0 grep -nIE "(^|[[:space:]\"'(=\`<:,])($regex)" -- 2>/dev/null || true)
if [[ -n $hits ]]; then
    echo "$hits"
    echo "check-paths: absolute paths of a build machine in tracked files (above)"
    exit 1
fi
echo "check-paths: ok ($(git ls-files | wc -l) tracked files)"
