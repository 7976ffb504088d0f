package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/tokenizer"
)

// Names inside the output folder.
const (
	modelDirName   = "gpt2-debian-small"
	heldOutName    = "heldout-general.jsonl"
	readmeName     = "README.md"
	endOfTextToken = "<|endoftext|>"
	nPositions     = 256
)

// report collects the numbers that README.md records.
type report struct {
	Command                        string
	GatheredDocs, GatheredBytes    int
	HeldOutDocs, HeldOutWritten    int
	HeldOutBytes                   int
	TrainDocs, TrainBytes          int
	TokenizerBytes                 int
	TokenizerSeconds               float64
	TrainTokens, ValTokens         int64
	Params                         int
	Steps, PlannedSteps, StoppedAt int
	SecondsPerStep                 float64
	TrainSeconds, TotalSeconds     float64
	FirstTrainLoss, FinalTrainLoss float64
	FinalValLoss                   float64
	FinalValStep                   int
	Sample, SamplePrompt           string
	Config                         finetune.Config
	ModelConfig                    model.GPT2Config
	GoVersion, GOOS, GOARCH        string
	CPUs                           int
}

func run(ctx context.Context, o options, command string, logger *slog.Logger) error {
	start := time.Now()
	rep := report{Command: command, GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU()}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating output folder: %w", err)
	}

	// Gather the text and split off the held-out documents.
	docs, err := gatherDocs(o.docRoot, o.manRoot, logger)
	if err != nil {
		return err
	}
	var heldOut, train []textDoc
	for _, d := range docs {
		rep.GatheredBytes += len(d.Text)
		if corpus.HeldOut(d.ID, o.heldOutFraction) {
			heldOut = append(heldOut, d)
		} else {
			train = append(train, d)
		}
	}
	rep.GatheredDocs, rep.HeldOutDocs = len(docs), len(heldOut)
	// Shuffle the held-out documents the same seeded way before capping the
	// file, so it samples man pages and READMEs alike rather than the first
	// paths in sorted order.
	heldOut = seededOrder(heldOut, o.seed)
	written, err := writeHeldOut(filepath.Join(o.out, heldOutName), heldOut, o.heldOutMaxBytes)
	if err != nil {
		return err
	}
	rep.HeldOutWritten = len(written)
	for _, d := range written {
		rep.HeldOutBytes += len(d.Text)
	}
	logger.Info("held out general-English text", "file", filepath.Join(o.out, heldOutName), "documents", len(written), "of", len(heldOut), "bytes", rep.HeldOutBytes)

	// Order the training documents by a seeded hash, so a byte cap takes a
	// sample of all packages rather than the first names in the alphabet.
	train = seededOrder(train, o.seed)
	train = takeBytes(train, o.trainBytes)
	for _, d := range train {
		rep.TrainBytes += len(d.Text)
	}
	rep.TrainDocs = len(train)
	logger.Info("selected training text", "documents", rep.TrainDocs, "bytes", rep.TrainBytes)

	// Train the tokenizer.
	tokStart := time.Now()
	tokDocs := takeBytes(train, o.tokenizerBytes)
	for _, d := range tokDocs {
		rep.TokenizerBytes += len(d.Text)
	}
	tok, err := tokenizer.Train(texts(tokDocs), tokenizer.TrainOptions{
		VocabSize:     o.vocabSize,
		MinFrequency:  2,
		SpecialTokens: []string{endOfTextToken},
	})
	if err != nil {
		return fmt.Errorf("training tokenizer: %w", err)
	}
	eot, ok := tok.TokenToID(endOfTextToken)
	if !ok {
		return fmt.Errorf("trained tokenizer lacks %q", endOfTextToken)
	}
	rep.TokenizerSeconds = time.Since(tokStart).Seconds()
	logger.Info("trained tokenizer", "vocab", tok.VocabSize(), "bytes", rep.TokenizerBytes, "seconds", rep.TokenizerSeconds)

	// Tokenize and pack both splits.
	trainPack, valPack := finetune.NewPacker(o.seqLen, eot), finetune.NewPacker(o.seqLen, eot)
	for _, d := range train {
		trainPack.Add(tok.EncodeWithOptions(d.Text, finetune.DocumentEncoding))
	}
	for _, d := range written {
		valPack.Add(tok.EncodeWithOptions(d.Text, finetune.DocumentEncoding))
	}
	trainData, valData := trainPack.Finish(), valPack.Finish()
	rep.TrainTokens, rep.ValTokens = trainData.Tokens, valData.Tokens
	logger.Info("packed data", "train_tokens", trainData.Tokens, "train_sequences", trainData.Len(), "val_tokens", valData.Tokens)

	// Build the model and size the run.
	mcfg := model.GPT2Config{
		VocabSize:  tok.VocabSize(),
		NPositions: nPositions,
		NEmbd:      o.nEmbd,
		NLayer:     o.nLayer,
		NHead:      o.nHead,
		BOSTokenID: int(eot),
		EOSTokenID: int(eot),
	}
	rep.ModelConfig = mcfg
	tcfg := finetune.Config{
		SeqLen:       o.seqLen,
		BatchSize:    o.batchSize,
		GradAccum:    1,
		MaxSteps:     o.steps,
		LearningRate: o.learningRate,
		MinLRRatio:   0.1,
		WarmupSteps:  o.warmupSteps,
		WeightDecay:  0.1,
		GradClip:     1.0,
		EvalEvery:    o.evalEvery,
		EvalBatches:  4,
		Seed:         o.seed,
	}
	if tcfg.MaxSteps == 0 {
		perStep, err := timeSteps(ctx, mcfg, tcfg, o.seed, trainData)
		if err != nil {
			return err
		}
		rep.SecondsPerStep = perStep.Seconds()
		// Plan 1.5 times what the timed steps suggest: Train cuts the count
		// to what fits in the budget as it measures the real step time.
		tcfg.MaxSteps = max(int(1.5*o.timeBudget.Seconds()/perStep.Seconds()), 1)
		logger.Info("sized run from timed steps", "seconds_per_step", perStep.Seconds(), "steps", tcfg.MaxSteps, "budget", o.timeBudget)
	}
	rep.PlannedSteps = tcfg.MaxSteps
	rep.Config = tcfg

	// Train.
	gpt := model.NewGPT2(mcfg, o.seed)
	params := finetune.ParamTensors(gpt.Parameters())
	for _, p := range params {
		rep.Params += len(p.Data)
	}
	trainStart := time.Now()
	var stopAt time.Time
	if o.timeBudget > 0 {
		stopAt = trainStart.Add(o.timeBudget)
	}
	res, err := finetune.Train(ctx, gpt, finetune.TrainOptions{
		Config: tcfg,
		Params: params,
		Train:  trainData,
		Val:    valData,
		Logger: logger,
		StopAt: stopAt,
	})
	if err != nil {
		return err
	}
	rep.TrainSeconds = time.Since(trainStart).Seconds()
	rep.Steps = len(res.Train)
	rep.StoppedAt = res.StoppedAt
	rep.PlannedSteps = res.PlannedSteps
	rep.FirstTrainLoss = res.Train[0].Loss
	rep.FinalTrainLoss = res.Train[len(res.Train)-1].Loss
	if len(res.Val) > 0 {
		last := res.Val[len(res.Val)-1]
		rep.FinalValLoss, rep.FinalValStep = last.Loss, last.Step
	}
	rep.SamplePrompt = "The program"
	rep.Sample = tok.Decode(gpt.Greedy(tok.Encode(rep.SamplePrompt), 24), false)

	// Write the model folder and the README.
	modelDir := filepath.Join(o.out, modelDirName)
	err = finetune.SaveModelFolder(modelDir, func(dir string) error {
		if err := gpt.Save(dir); err != nil {
			return err
		}
		if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
			return err
		}
		return finetune.WriteTokenizerConfigs(dir, endOfTextToken, eot, nPositions, true)
	})
	if err != nil {
		return err
	}
	if err := writeMetrics(filepath.Join(o.out, "training-metrics.json"), res); err != nil {
		return err
	}
	rep.TotalSeconds = time.Since(start).Seconds()
	if err := os.WriteFile(filepath.Join(o.out, readmeName), []byte(renderReadme(rep)), 0o644); err != nil {
		return fmt.Errorf("writing README: %w", err)
	}
	logger.Info("wrote base model", "dir", modelDir, "steps", rep.Steps, "final_train_loss", rep.FinalTrainLoss, "final_val_loss", rep.FinalValLoss, "seconds", rep.TotalSeconds)
	return nil
}

// timeSteps returns the mean wall time of one optimizer step, measured on
// a throwaway model over 3 steps after one warm-up step.
func timeSteps(ctx context.Context, mcfg model.GPT2Config, tcfg finetune.Config, seed int64, data *finetune.Packed) (time.Duration, error) {
	scratch := model.NewGPT2(mcfg, seed)
	cfg := tcfg
	cfg.EvalEvery, cfg.WarmupSteps = 0, 0
	var began time.Time
	cfg.MaxSteps = 4
	_, err := finetune.Train(ctx, scratch, finetune.TrainOptions{
		Config: cfg,
		Params: finetune.ParamTensors(scratch.Parameters()),
		Train:  data,
		Progress: func(step, _ int) {
			if step == 1 {
				began = time.Now()
			}
		},
	})
	if err != nil {
		return 0, fmt.Errorf("timing training steps: %w", err)
	}
	return time.Since(began) / 3, nil
}

// seededOrder returns docs sorted by SHA-256(seed, id).
func seededOrder(docs []textDoc, seed int64) []textDoc {
	key := func(d textDoc) string {
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], uint64(seed))
		sum := sha256.Sum256(append(buf[:], d.ID...))
		return string(sum[:])
	}
	out := slices.Clone(docs)
	slices.SortFunc(out, func(a, b textDoc) int {
		ka, kb := key(a), key(b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	return out
}

// takeBytes returns the longest prefix of docs whose texts total at most
// limit bytes, or all of docs when limit is 0.
func takeBytes(docs []textDoc, limit int) []textDoc {
	if limit <= 0 {
		return docs
	}
	total := 0
	for i, d := range docs {
		total += len(d.Text)
		if total > limit {
			return docs[:i]
		}
	}
	return docs
}

func texts(docs []textDoc) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, d := range docs {
			if !yield(d.Text) {
				return
			}
		}
	}
}

// heldOutRecord is one line of heldout-general.jsonl, readable by eval's
// "jsonl" task sets.
type heldOutRecord struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Text   string `json:"text"`
}

// writeHeldOut writes docs as JSONL to path, stopping before the file would
// exceed maxBytes, and returns the documents written.
func writeHeldOut(path string, docs []textDoc, maxBytes int) ([]textDoc, error) {
	var buf []byte
	var written []textDoc
	for _, d := range docs {
		line, err := json.Marshal(heldOutRecord{ID: d.ID, Source: d.Source, Text: d.Text})
		if err != nil {
			return nil, fmt.Errorf("encoding held-out document %s: %w", d.Source, err)
		}
		if len(buf)+len(line)+1 > maxBytes {
			continue
		}
		buf = append(append(buf, line...), '\n')
		written = append(written, d)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf, 0o644); err != nil {
		return nil, fmt.Errorf("writing held-out text: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("writing held-out text: %w", err)
	}
	return written, nil
}

func writeMetrics(path string, res *finetune.TrainResult) error {
	data, err := json.MarshalIndent(struct {
		Steps     int                  `json:"steps"`
		StoppedAt int                  `json:"stopped_at,omitempty"`
		Train     []finetune.LossPoint `json:"train"`
		Val       []finetune.LossPoint `json:"val"`
	}{res.Steps, res.StoppedAt, res.Train, res.Val}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding training metrics: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing training metrics: %w", err)
	}
	return nil
}
