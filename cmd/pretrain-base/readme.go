package main

import (
	"fmt"
	"strings"
)

// renderReadme returns basemodel/README.md: what the model is and how this
// run made it.
func renderReadme(r report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	mib := func(n int) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

	p("# gpt2-debian-small: adapt's own small base model")
	p("")
	p("`gpt2-debian-small/` is a GPT-2 model (%d layers, %d-wide embeddings, %d heads, %d positions, vocabulary %d, %d parameters) trained from scratch by `cmd/pretrain-base` on English text that Debian installs. It is a Hugging Face folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json) that `adapt quickstart` fine-tunes and that Hugging Face transformers loads as `GPT2LMHeadModel`.",
		r.ModelConfig.NLayer, r.ModelConfig.NEmbd, r.ModelConfig.NHead, r.ModelConfig.NPositions, r.ModelConfig.VocabSize, r.Params)
	p("")
	p("It is small enough to train and fine-tune on one CPU machine in minutes, so its text is barely fluent: it exists to make the pipeline runnable and measurable without downloads, not to be useful on its own.")
	p("")
	p("## Data")
	p("")
	p("- Sources: README*, *.md and *.txt files under /usr/share/doc (gzipped ones decompressed) and the English man pages under /usr/share/man/man*/ converted from troff to plain text. Files whose names mention a license, copyright, notice, authors or credits are excluded, as are troff comments (where man pages keep their copyright headers), `.so` redirect pages, non-UTF-8 files, documents under %d bytes and exact duplicates.", minDocBytes)
	p("- Gathered: %d documents, %s, in sorted path order.", r.GatheredDocs, mib(r.GatheredBytes))
	p("- Held out: %d documents (corpus.HeldOut on the SHA-256 document id, fraction 0.02); %d of them (%s), taken in the seeded order until the file reaches 1 MB, are in `heldout-general.jsonl` (one {\"id\", \"source\", \"text\"} object per line) for eval's general-English task set, and none are in the training data.", r.HeldOutDocs, r.HeldOutWritten, mib(r.HeldOutBytes))
	p("- Training text: %d documents (%s), the first in an order seeded by -seed, %d tokens after packing with `<|endoftext|>` between documents. The same held-out text (%d tokens) is the validation split.", r.TrainDocs, mib(r.TrainBytes), r.TrainTokens, r.ValTokens)
	p("")
	p("## Tokenizer")
	p("")
	p("Byte-level BPE (GPT-2 pre-tokenization), vocabulary %d with `<|endoftext|>` as the end-of-text special token, trained by adapt's tokenizer package on %s of the training text in %.1f s.", r.ModelConfig.VocabSize, mib(r.TokenizerBytes), r.TokenizerSeconds)
	p("")
	p("## Training")
	p("")
	c := r.Config
	p("- Trainer: adapt's finetune.Train on the pure-Go CPU engine. AdamW (betas 0.9/0.95, eps 1e-8, weight decay %.2g on 2-D weights), peak learning rate %.3g, %d warm-up steps, cosine decay to %.2g of peak, gradient clipping at global norm %.1f.",
		c.WeightDecay, c.LearningRate, c.WarmupSteps, c.MinLRRatio, c.GradClip)
	p("- Batches: %d sequences of %d tokens per step (%d tokens).", c.BatchSize, c.SeqLen, c.BatchSize*c.SeqLen)
	switch {
	case r.SecondsPerStep > 0 && r.Steps < r.PlannedSteps:
		p("- Steps: %d run. The plan was %d steps, 1.5 times what fit the time budget at the %.2f s per step of 4 timed steps. The trainer then cut the count to what fit at the measured mean step time, so the cosine schedule reached its minimum.", r.Steps, r.PlannedSteps, r.SecondsPerStep)
	case r.SecondsPerStep > 0:
		p("- Steps: all %d planned steps ran. The plan was 1.5 times what fit the time budget at the %.2f s per step of 4 timed steps, and later steps ran faster, so training ended before the budget.", r.Steps, r.SecondsPerStep)
	default:
		p("- Steps: %d planned, %d run.", r.PlannedSteps, r.Steps)
	}
	if r.StoppedAt > 0 {
		p("- The time budget stopped training after step %d, before the learning rate had fully decayed.", r.StoppedAt)
	}
	p("- Loss (mean next-token cross-entropy, nats): %.3f at step 1, %.3f at the last step (train); %.3f on the held-out text at step %d.", r.FirstTrainLoss, r.FinalTrainLoss, r.FinalValLoss, r.FinalValStep)
	p("- Time: %.1f min of training, %.1f min in all, on %d CPUs (%s, %s/%s). `training-metrics.json` has the loss curves.", r.TrainSeconds/60, r.TotalSeconds/60, r.CPUs, r.GoVersion, r.GOOS, r.GOARCH)
	p("- Greedy continuation of %q: %q", r.SamplePrompt, r.Sample)
	p("")
	p("## Reproducing")
	p("")
	p("From the repository root:")
	p("")
	p("    %s", r.Command)
	p("")
	p("Runs are deterministic for a given machine, Debian package set and flags, except that a time budget ends training at a step that depends on the machine's speed; pass -steps to fix the step count. The package set decides the text, so another machine gives another corpus.")
	return b.String()
}
