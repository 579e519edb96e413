#!/usr/bin/env bash
# A/B benchmark against an earlier commit, alternating runs so both sides share the machine's noise:
#   scripts/ab-bench.sh BASE_REF ROUNDS npm-script [-- args...]
#   e.g. scripts/ab-bench.sh HEAD~3 3 bench:overhead
# BASE_REF is checked out into a temporary worktree that shares this checkout's node_modules (the
# dependencies must be the same); each round runs BASE then the working tree (HEAD + changes), and
# every run's output is printed under a "== A|B round N ==" header, for the caller to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
base_ref=${1:?base ref}
rounds=${2:?rounds}
script=${3:?npm script}
shift 3
[ "${1:-}" = "--" ] && shift
dir=$(mktemp -d /tmp/ig-ab-XXXXXX)
trap 'git worktree remove --force "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
git worktree add --detach -f "$dir" "$base_ref" >/dev/null
ln -s "$PWD/node_modules" "$dir/node_modules"
(cd "$dir" && node --import tsx scripts/build-examples.ts >/dev/null)
node --import tsx scripts/build-examples.ts >/dev/null
for r in $(seq 1 "$rounds"); do
  echo "== A (base $(git rev-parse --short "$base_ref")) round $r =="
  (cd "$dir" && npm run --silent "$script" -- "$@")
  echo "== B (working tree) round $r =="
  npm run --silent "$script" -- "$@"
done
