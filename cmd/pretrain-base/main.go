// Command pretrain-base builds adapt's small GPT-2 base model from English
// text that Debian installs: README, Markdown and text files under
// /usr/share/doc and the English man pages under /usr/share/man, without
// license and copyright files. It holds out about 2% of the documents as
// general-English eval text, trains a byte-level BPE tokenizer, trains GPT-2
// from scratch with adapt's trainer and writes a Hugging Face model folder
// and a README that records how the model was made.
//
// Usage:
//
//	go run ./cmd/pretrain-base -out basemodel -time-budget 20m
//
// It exits 0 on success, 1 on any error and 2 on invalid flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"
)

// options are the command-line settings.
type options struct {
	out             string
	docRoot         string
	manRoot         string
	heldOutFraction float64
	heldOutMaxBytes int
	tokenizerBytes  int
	trainBytes      int
	vocabSize       int
	steps           int
	timeBudget      time.Duration
	batchSize       int
	seqLen          int
	learningRate    float64
	warmupSteps     int
	evalEvery       int
	seed            int64
	nLayer          int
	nEmbd           int
	nHead           int
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "basemodel", "output `folder` for the model, held-out text and README")
	flag.StringVar(&o.docRoot, "doc-root", "/usr/share/doc", "`folder` with package documentation")
	flag.StringVar(&o.manRoot, "man-root", "/usr/share/man", "`folder` with man pages (English pages in man*/)")
	flag.Float64Var(&o.heldOutFraction, "heldout-fraction", 0.02, "fraction of documents held out as eval text, chosen by corpus.HeldOut")
	flag.IntVar(&o.heldOutMaxBytes, "heldout-max-bytes", 1_000_000, "maximum size in bytes of heldout-general.jsonl; held-out documents past it are left out of both files")
	flag.IntVar(&o.tokenizerBytes, "tokenizer-bytes", 8<<20, "bytes of training text used to train the tokenizer")
	flag.IntVar(&o.trainBytes, "train-bytes", 24<<20, "bytes of training text tokenized for pretraining (0 means all)")
	flag.IntVar(&o.vocabSize, "vocab-size", 4096, "tokenizer vocabulary size, including the end-of-text token")
	flag.IntVar(&o.steps, "steps", 0, "optimizer steps (0 means as many as fit in -time-budget, estimated from timed steps)")
	flag.DurationVar(&o.timeBudget, "time-budget", 20*time.Minute, "wall time for the training loop; training stops at this limit even if -steps is not reached (0 means no limit, which needs -steps)")
	flag.IntVar(&o.batchSize, "batch-size", 8, "sequences per optimizer step")
	flag.IntVar(&o.seqLen, "seq-len", 128, "tokens per training sequence, at most n_positions (256)")
	flag.Float64Var(&o.learningRate, "lr", 2e-3, "peak AdamW learning rate")
	flag.IntVar(&o.warmupSteps, "warmup", 30, "linear warm-up steps")
	flag.IntVar(&o.evalEvery, "eval-every", 50, "steps between validation passes on held-out text")
	flag.Int64Var(&o.seed, "seed", 1, "seed of weight initialization and data order")
	flag.IntVar(&o.nLayer, "n-layer", 4, "transformer blocks")
	flag.IntVar(&o.nEmbd, "n-embd", 128, "embedding width")
	flag.IntVar(&o.nHead, "n-head", 4, "attention heads")
	flag.Parse()
	if o.steps <= 0 && o.timeBudget <= 0 {
		fmt.Fprintln(os.Stderr, "pretrain-base: set -steps or -time-budget")
		os.Exit(2)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	command := strings.Join(append([]string{"go run ./cmd/pretrain-base"}, os.Args[1:]...), " ")
	if err := run(ctx, o, command, logger); err != nil {
		logger.Error("pretraining failed", "err", err)
		os.Exit(1)
	}
}
