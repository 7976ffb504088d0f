#!/usr/bin/env bash
# Runs torchcompare on the committed tree, with adapt's matrix products on
# the Go kernel and then on OpenBLAS, printing the load average before and
# after. Usage, from the repository root:
#
#   bash benchmarks/torchcompare/run.sh [torchcompare flags...]
#
# Defaults: both models, 2 warm-up and 5 timed steps, 2 threads.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$root"
go build -o "$tmp/torchcompare" ./benchmarks/torchcompare

lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core):'
go version
uptime
"$tmp/torchcompare" -adapt-blas go,openblas "$@"
uptime
