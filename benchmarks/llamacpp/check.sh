#!/usr/bin/env bash
# check.sh exports models with `adapt export`, runs the GGUF files in
# llama.cpp and prints llama.cpp's greedy output beside adapt's.
#
#	bash benchmarks/llamacpp/check.sh [WORKDIR]
#
# llama.cpp comes from node-llama-cpp, whose npm packages ship prebuilt
# llama.cpp binaries. check.sh installs them into WORKDIR (default: a new
# folder under /tmp), never into the repository. The models are stories260K (a
# llama2.c checkpoint, from MODELS, default ../shared/data/models beside
# the repository), converted to a Hugging Face folder and exported as F32
# and F16, and basemodel/gpt2-debian-small exported as F32 and F16. The
# prompt is PROMPT (default "Once upon a time"), N tokens (default 24).
# It exits with status 1 when any ids differ. Neither go test nor .ci/run
# runs it: it needs npm and about 90 MB in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
work=${1:-$(mktemp -d /tmp/llamacpp-check.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
models=${MODELS:-$repo/../shared/data/models}
prompt=${PROMPT:-Once upon a time}
n=${N:-24}
version=3.22.1

# node-llama-cpp's prebuilt binaries come as one npm package per platform.
case "$(uname -s)-$(uname -m)" in
Linux-x86_64) platform=linux-x64 ;;
Linux-aarch64) platform=linux-arm64 ;;
Darwin-arm64) platform=mac-arm64-metal ;;
Darwin-x86_64) platform=mac-x64 ;;
*) echo "check.sh: no prebuilt node-llama-cpp package for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

# --ignore-scripts skips node-llama-cpp's postinstall step, which would
# try to download and build llama.cpp when the prebuilt binary does not
# load; --omit=optional skips the other platforms' and the CUDA packages.
if [[ ! -d $work/node_modules/node-llama-cpp ]]; then
	echo "installing node-llama-cpp $version and @node-llama-cpp/$platform into $work" >&2
	(cd "$work" && echo '{"name": "llamacpp-check", "private": true, "type": "module"}' >package.json &&
		npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error \
			"node-llama-cpp@$version" "@node-llama-cpp/$platform@$version" >&2)
fi
cp benchmarks/llamacpp/check.mjs benchmarks/llamacpp/texts.json "$work/"

adapt() { go run ./cmd/adapt "$@"; }
side() { go run ./benchmarks/llamacpp "$@"; }

# Export: stories260K goes llama2.c -> Hugging Face folder -> GGUF.
stories=$models/llama2c-stories260K
side hf -checkpoint "$stories/stories260K.bin" -tokenizer "$stories/tok512.bin" -out "$work/stories260K"
for typ in f32 f16; do
	adapt export --model "$work/stories260K" --type $typ --out "$work/stories260K-$typ.gguf" >&2
	adapt export --model basemodel/gpt2-debian-small --type $typ --out "$work/gpt2-debian-small-$typ.gguf" >&2
done

# adapt's greedy output, from the Hugging Face folders and from the F16
# files as adapt reads them back.
for src in "$work/stories260K" basemodel/gpt2-debian-small "$work/stories260K-f16.gguf" "$work/gpt2-debian-small-f16.gguf"; do
	side generate -model "$src" -prompt "$prompt" -n "$n" >"$work/adapt-$(basename "$src").json"
	side tokenize -model "$src" -texts benchmarks/llamacpp/texts.json >"$work/adapt-ids-$(basename "$src").json"
done

cd "$work"
echo "node-llama-cpp $version, $(node -p 'require("./node_modules/node-llama-cpp/llama/binariesGithubRelease.json").release') llama.cpp release of its prebuilt binaries"
echo ""
status=0
check() { node check.mjs "$@" || status=1; }
check generate stories260K-f32.gguf adapt-stories260K.json
check generate stories260K-f16.gguf adapt-stories260K.json
check generate stories260K-f16.gguf adapt-stories260K-f16.gguf.json
check tokenize stories260K-f32.gguf texts.json adapt-ids-stories260K.json
check generate gpt2-debian-small-f32.gguf adapt-gpt2-debian-small.json
check generate gpt2-debian-small-f16.gguf adapt-gpt2-debian-small.json
check generate gpt2-debian-small-f16.gguf adapt-gpt2-debian-small-f16.gguf.json
check tokenize gpt2-debian-small-f32.gguf texts.json adapt-ids-gpt2-debian-small.json
exit $status
