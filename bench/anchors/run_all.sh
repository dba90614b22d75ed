#!/usr/bin/env bash
# run_all.sh - run every anchor benchmark in sequence (DHCP, TFTP, HTTP, boot storm) and
# keep their stdout tables + stderr logs + raw CSVs in one results folder.
# Takes roughly 15-20 minutes on 2 cores. Benchmarks must not overlap: they share the
# namespace names "srv"/"cli" and the CPU.
#
# Usage: sudo ./run_all.sh [OUTDIR]          (default OUTDIR=/tmp/anchor-results-<date>)
# Env passed through to the scripts: RUNS, WORKDIR, ...

set -u
HERE=$(dirname "$(readlink -f "$0")")
OUT=${1:-/tmp/anchor-results-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
export WORKDIR=${WORKDIR:-/tmp/anchor-bench-$$}
{ echo "nproc: $(nproc)"; echo "kernel: $(uname -r)"; echo "date: $(date -u)"; } >"$OUT/machine.txt"
for b in dhcp_bench tftp_bench http_bench bootstorm; do
  echo "=== $b ===" >&2
  "$HERE/$b.sh" >"$OUT/$b.out" 2>"$OUT/$b.log" || echo "$b exited $?" >&2
  cat "$OUT/$b.out"
done
cp "$WORKDIR"/*.csv "$OUT/" 2>/dev/null
echo "results in $OUT" >&2
