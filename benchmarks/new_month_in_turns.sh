#!/usr/bin/env bash
# One new month delivered to copies of one home, by two trees in turns (before, after, ...):
# the side-by-side figure of docs/performance.md, "The new month side by side".
#
#   benchmarks/new_month_in_turns.sh KEPT_HOME LANDING BEFORE_TREE AFTER_TREE [ROUNDS [AFTER_KEPT_HOME]]
#
# KEPT_HOME: a home after its first run (pipeline_benchmark.py --new-month --keep-first-home
# keeps home-<size>-after-first-run); LANDING: its zone with the new month delivered; each
# tree is a git worktree with its own .venv (make setup). Prints wall, CPU and peak per run.
# AFTER_KEPT_HOME (default KEPT_HOME): the after tree's own kept home. A tree whose loading
# or staging code differs from the code that made its home reloads the reference files (the
# reference job, about 3 s); to time the steady state, give each tree a home it has already
# run (a copy of KEPT_HOME after that tree's `riskstrat run` of KEPT_HOME's own landing zone,
# the one without the new month).
set -euo pipefail
kept=$1 landing=$2 before=$3 after=$4 rounds=${5:-2} kept_after=${6:-$1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq "$rounds"); do
  for tree in "$before" "$after"; do
    home=$work/home
    source=$kept && [ "$tree" = "$after" ] && source=$kept_after
    rm -rf "$home" && cp -a "$source" "$home"
    sync  # the copy's writes are flushed before the clock starts, not during the run
    echo "$(git -C "$tree" log --oneline -1 | cut -c1-7) round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -f "  %e s wall, %U s user + %S s system, %M KB peak" \
      "$tree/.venv/bin/riskstrat" run --landing "$landing" --home "$home" > "$work/log" 2>&1 \
      || { tail -5 "$work/log"; exit 1; }
    grep -E "done in" "$work/log" | sed 's/^/  /'
    tail -1 "$work/log"
  done
done
