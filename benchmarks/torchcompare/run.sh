#!/usr/bin/env bash
# Runs torchcompare on the committed tree and on a copy with
# wire-fused-kernels.patch applied, printing the load average before each
# run. Usage, from the repository root:
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
mkdir "$tmp/wired"
git archive HEAD | tar -x -C "$tmp/wired"
(cd "$tmp/wired" && git apply "$root/benchmarks/torchcompare/wire-fused-kernels.patch" && go build -o "$tmp/torchcompare-wired" ./benchmarks/torchcompare)

lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core):'
go version

echo "== committed tree, ADAPT_BLAS=go then openblas, and PyTorch"
uptime
"$tmp/torchcompare" -adapt-blas go,openblas "$@"
echo "== with wire-fused-kernels.patch, and PyTorch"
uptime
"$tmp/torchcompare-wired" "$@"
uptime
