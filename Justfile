# Recipes for common adapt tasks. Run `just --list` to see them.

# Run the whole pipeline on the legal texts every Debian system installs.
quickstart *args:
    go run ./cmd/adapt quickstart {{args}}

# Run the test suite, as .ci/run does.
test:
    go test ./...

# Run the benchmarks once each (short; see benchmarks/RESULTS.md for the full runs).
bench pattern='.':
    go test -run '^$' -bench '{{pattern}}' -benchtime 1x ./...

# Train the same GPT-2 models in adapt and PyTorch side by side (needs python3-torch; about 5 minutes).
bench-torch *args:
    bash benchmarks/torchcompare/run.sh {{args}}

# Train the base model the quickstart starts from (basemodel/gpt2-debian-small).
base-model *args:
    go run ./cmd/pretrain-base -out basemodel {{args}}

# Run every fuzz target for a few seconds each.
fuzz seconds='10':
    #!/usr/bin/env bash
    set -euo pipefail
    for pkg in $(go list ./...); do
        for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
            echo "== $pkg $target"
            go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime '{{seconds}}s'
        done
    done

# Vet the code and check that gofmt has nothing to change.
lint:
    go vet ./...
    test -z "$(gofmt -l .)" || { gofmt -l .; echo "run gofmt -w on the files above" >&2; exit 1; }

# Build the adapt binary as ./adapt.
build:
    go build -o adapt ./cmd/adapt
