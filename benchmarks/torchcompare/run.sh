#!/usr/bin/env bash
# Runs torchcompare on the committed tree, with adapt's matrix products on
# the Go kernel and on OpenBLAS, printing the load average before and
# after. Usage, from the repository root:
#
#   bash benchmarks/torchcompare/run.sh [torchcompare flags...]
#
# Without flags it runs GPT-2 124M with 2 warm-up and 5 timed steps, then
# the small model with 3 warm-up and 20 timed steps (its steps are short,
# so more of them keep the median steady), both on 2 threads. With flags it
# makes one run with exactly those flags.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$root"
go build -o "$tmp/torchcompare" ./benchmarks/torchcompare

lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core):'
go version
uptime
if [ "$#" -gt 0 ]; then
	"$tmp/torchcompare" -adapt-blas go,openblas "$@"
else
	"$tmp/torchcompare" -adapt-blas go,openblas -models gpt2 -warmup 2 -steps 5
	uptime
	"$tmp/torchcompare" -adapt-blas go,openblas -models small -warmup 3 -steps 20
fi
uptime
