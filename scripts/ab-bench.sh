#!/usr/bin/env bash
# A/B benchmark of two commits, alternating runs so both sides share the machine's noise:
#   scripts/ab-bench.sh BASE_REF ROUNDS npm-script [-- args...]      (B = HEAD)
#   B_REF=abc123 scripts/ab-bench.sh HEAD~3 3 bench:overhead
# Each side is checked out into a temporary worktree sharing this checkout's node_modules (the
# dependencies must be the same), so editing the working tree meanwhile changes neither; each round
# runs A then B, and every run's output is printed under a "== A|B round N ==" header.
set -euo pipefail
cd "$(dirname "$0")/.."
base_ref=${1:?base ref}
rounds=${2:?rounds}
script=${3:?npm script}
shift 3
[ "${1:-}" = "--" ] && shift
# Resolved once: a commit made while the benchmark runs changes neither side nor its label.
base_ref=$(git rev-parse --short "$base_ref")
b_ref=$(git rev-parse --short "${B_REF:-HEAD}")
a=$(mktemp -d /tmp/ig-ab-XXXXXX)
b=$(mktemp -d /tmp/ig-ab-XXXXXX)
cleanup() {
  for d in "$a" "$b"; do git worktree remove --force "$d" >/dev/null 2>&1 || true; rm -rf "$d"; done
}
trap cleanup EXIT
for side in "$a:$base_ref" "$b:$b_ref"; do
  dir=${side%%:*}
  git worktree add --detach -f "$dir" "${side#*:}" >/dev/null
  ln -s "$PWD/node_modules" "$dir/node_modules"
  (cd "$dir" && node --import tsx scripts/build-examples.ts >/dev/null)
done
for r in $(seq 1 "$rounds"); do
  echo "== A ($base_ref) round $r =="
  (cd "$a" && npm run --silent "$script" -- "$@")
  echo "== B ($b_ref) round $r =="
  (cd "$b" && npm run --silent "$script" -- "$@")
done
