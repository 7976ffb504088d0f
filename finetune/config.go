package finetune

import "fmt"

// Config holds the training settings. Each field's comment gives the meaning
// of its zero value. DefaultConfig returns the values adapt uses when a field
// is not set in adapt.yaml.
type Config struct {
	// SeqLen is the length in tokens of each packed training sequence, at
	// most the model's n_positions. Zero means the model's n_positions.
	SeqLen int `yaml:"seq_len" json:"seq_len"`
	// BatchSize is the number of sequences in one forward/backward pass.
	// Zero means 8.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// GradAccum is the number of micro-batches whose gradients are averaged
	// before each optimizer step. Zero means 1.
	GradAccum int `yaml:"grad_accum" json:"grad_accum"`
	// MaxSteps is the number of optimizer steps. When positive it wins over
	// Epochs, and the training split repeats, in a new order each epoch, as
	// often as the steps need. Zero means as many steps as Epochs passes
	// over the training split take.
	MaxSteps int `yaml:"max_steps" json:"max_steps"`
	// Epochs is the number of passes over the training split (fractions
	// allowed) when MaxSteps is zero; it is ignored otherwise. Zero means
	// one pass.
	Epochs float64 `yaml:"epochs" json:"epochs"`
	// LearningRate is the peak AdamW learning rate, reached at the end of
	// warm-up. Must be positive.
	LearningRate float64 `yaml:"learning_rate" json:"learning_rate"`
	// MinLRRatio is the final learning rate of the cosine decay as a fraction
	// of LearningRate, in [0, 1]. Zero means decay to 0.
	MinLRRatio float64 `yaml:"min_lr_ratio" json:"min_lr_ratio"`
	// WarmupSteps is the number of optimizer steps of linear warm-up from
	// LearningRate/WarmupSteps to LearningRate. Zero means no warm-up.
	WarmupSteps int `yaml:"warmup_steps" json:"warmup_steps"`
	// WeightDecay is AdamW's decoupled weight decay, applied only to
	// parameters with two or more dimensions. Zero means none.
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	// GradClip is the maximum global L2 norm of the gradient; larger
	// gradients are scaled down to it. Zero means no clipping.
	GradClip float64 `yaml:"grad_clip" json:"grad_clip"`
	// AdamBeta1 and AdamBeta2 are the decay rates of AdamW's first and second
	// moments, in [0, 1). Zero means 0.9 and 0.95.
	AdamBeta1 float64 `yaml:"adam_beta1" json:"adam_beta1"`
	AdamBeta2 float64 `yaml:"adam_beta2" json:"adam_beta2"`
	// AdamEps is added to the square root of the second moment. Zero means
	// 1e-8.
	AdamEps float64 `yaml:"adam_eps" json:"adam_eps"`
	// EvalEvery is the number of optimizer steps between validation passes.
	// Zero means validate only after the last step.
	EvalEvery int `yaml:"eval_every" json:"eval_every"`
	// EvalBatches is the number of validation batches per validation pass.
	// Zero means the whole validation split.
	EvalBatches int `yaml:"eval_batches" json:"eval_batches"`
	// ValFraction is the fraction of documents, in [0, 1), held out for
	// validation by corpus.HeldOut. Zero means no validation split.
	ValFraction float64 `yaml:"val_fraction" json:"val_fraction"`
	// Seed seeds the shuffling of training sequences. Zero is a valid seed.
	Seed int64 `yaml:"seed" json:"seed"`
	// CheckpointEvery is the number of optimizer steps between checkpoints.
	// Zero means no intermediate checkpoints, so an interrupted run starts
	// over.
	CheckpointEvery int `yaml:"checkpoint_every" json:"checkpoint_every"`
	// KeepCheckpoints is how many of the newest checkpoints are kept on
	// disk. Zero means 2.
	KeepCheckpoints int `yaml:"keep_checkpoints" json:"keep_checkpoints"`
	// KeepCheckpointsAfterSuccess keeps the checkpoints folder after a run
	// that completes. False (the default) removes it, because checkpoints
	// only serve to resume an interrupted run.
	KeepCheckpointsAfterSuccess bool `yaml:"keep_checkpoints_after_success" json:"keep_checkpoints_after_success,omitempty"`
	// LoRA, when set and enabled, trains low-rank adapters on frozen base
	// weights. Nil means every weight is trained.
	LoRA *LoRAConfig `yaml:"lora" json:"lora,omitempty"`
	// LRSchedule is the decay after warm-up: "cosine", "linear" or
	// "constant" (see ScheduledLR). Empty means "cosine".
	LRSchedule string `yaml:"lr_schedule" json:"lr_schedule,omitempty"`
	// EarlyStopPatience stops training after this many validation passes in
	// a row without a new best validation loss. Zero means never stop early.
	EarlyStopPatience int `yaml:"early_stop_patience" json:"early_stop_patience,omitempty"`
	// EarlyStopMinDelta is how much lower than the best so far (nats) a
	// validation loss must be to count as a new best. Zero means any
	// decrease counts.
	EarlyStopMinDelta float64 `yaml:"early_stop_min_delta" json:"early_stop_min_delta,omitempty"`
	// Replay mixes general-domain text into every batch to limit
	// forgetting. The zero value mixes none.
	Replay ReplayConfig `yaml:"replay" json:"replay,omitzero"`
}

// Defaults of the fields whose zero value stands for a fixed number.
const (
	defaultBatchSize       = 8
	defaultBeta1           = 0.9
	defaultBeta2           = 0.95
	defaultEps             = 1e-8
	defaultKeepCheckpoints = 2
)

// DefaultConfig returns the settings adapt uses for a small-model fine-tune
// on one CPU machine.
func DefaultConfig() Config {
	return Config{
		SeqLen:          256,
		BatchSize:       defaultBatchSize,
		GradAccum:       1,
		Epochs:          1,
		LearningRate:    3e-4,
		MinLRRatio:      0.1,
		WarmupSteps:     20,
		WeightDecay:     0.1,
		GradClip:        1.0,
		AdamBeta1:       defaultBeta1,
		AdamBeta2:       defaultBeta2,
		AdamEps:         defaultEps,
		EvalEvery:       50,
		EvalBatches:     8,
		ValFraction:     0.05,
		Seed:            1,
		CheckpointEvery: 100,
		KeepCheckpoints: defaultKeepCheckpoints,
	}
}

// withDefaults returns c with every zero field that stands for a number
// replaced by that number. SeqLen is left alone because its default comes
// from the model.
func (c Config) withDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = defaultBatchSize
	}
	if c.GradAccum == 0 {
		c.GradAccum = 1
	}
	if c.AdamBeta1 == 0 {
		c.AdamBeta1 = defaultBeta1
	}
	if c.AdamBeta2 == 0 {
		c.AdamBeta2 = defaultBeta2
	}
	if c.AdamEps == 0 {
		c.AdamEps = defaultEps
	}
	if c.KeepCheckpoints == 0 {
		c.KeepCheckpoints = defaultKeepCheckpoints
	}
	return c
}

// Validate reports the first field outside its valid range, wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	checks := []struct {
		bad  bool
		name string
		val  any
		want string
	}{
		{c.SeqLen < 0, "seq_len", c.SeqLen, ">= 0"},
		{c.BatchSize < 0, "batch_size", c.BatchSize, ">= 0"},
		{c.GradAccum < 0, "grad_accum", c.GradAccum, ">= 0"},
		{c.MaxSteps < 0, "max_steps", c.MaxSteps, ">= 0"},
		{c.Epochs < 0, "epochs", c.Epochs, ">= 0"},
		{!(c.LearningRate > 0), "learning_rate", c.LearningRate, "> 0"},
		{c.MinLRRatio < 0 || c.MinLRRatio > 1, "min_lr_ratio", c.MinLRRatio, "in [0, 1]"},
		{c.WarmupSteps < 0, "warmup_steps", c.WarmupSteps, ">= 0"},
		{c.WeightDecay < 0, "weight_decay", c.WeightDecay, ">= 0"},
		{c.GradClip < 0, "grad_clip", c.GradClip, ">= 0"},
		{c.AdamBeta1 < 0 || c.AdamBeta1 >= 1, "adam_beta1", c.AdamBeta1, "in [0, 1)"},
		{c.AdamBeta2 < 0 || c.AdamBeta2 >= 1, "adam_beta2", c.AdamBeta2, "in [0, 1)"},
		{c.AdamEps < 0, "adam_eps", c.AdamEps, ">= 0"},
		{c.EvalEvery < 0, "eval_every", c.EvalEvery, ">= 0"},
		{c.EvalBatches < 0, "eval_batches", c.EvalBatches, ">= 0"},
		{c.ValFraction < 0 || c.ValFraction >= 1, "val_fraction", c.ValFraction, "in [0, 1)"},
		{c.CheckpointEvery < 0, "checkpoint_every", c.CheckpointEvery, ">= 0"},
		{c.KeepCheckpoints < 0, "keep_checkpoints", c.KeepCheckpoints, ">= 0"},
		{!validSchedule(c.LRSchedule), "lr_schedule", c.LRSchedule, `"cosine", "linear" or "constant"`},
		{c.EarlyStopPatience < 0, "early_stop_patience", c.EarlyStopPatience, ">= 0"},
		{!(c.EarlyStopMinDelta >= 0), "early_stop_min_delta", c.EarlyStopMinDelta, ">= 0"},
		{!(c.Replay.Fraction >= 0 && c.Replay.Fraction < 1), "replay.fraction", c.Replay.Fraction, "in [0, 1)"},
		{c.Replay.Fraction > 0 && c.Replay.Path == "", "replay.path", `""`, "set when replay.fraction > 0"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: %s is %v, must be %s", ErrInvalidConfig, ch.name, ch.val, ch.want)
		}
	}
	return c.LoRA.validate()
}
