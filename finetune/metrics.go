// Package finetune trains causal language models on cleaned corpus shards:
// sequence packing, AdamW, learning-rate schedules, gradient clipping,
// held-out validation, checkpoints and export as a Hugging Face folder.
package finetune

import (
	"time"

	"github.com/adapt-llm/adapt/corpus"
)

// Metrics is the content of <workspace>/finetune/metrics.json: the loss
// curves and totals of one training run.
type Metrics struct {
	// BaseModel is the absolute path of the base model folder (as given,
	// in files written before it was made absolute).
	BaseModel string    `json:"base_model"`
	OutputDir string    `json:"output_dir"`
	StartedAt time.Time `json:"started_at"`
	// ElapsedSeconds is the wall time of the training loop.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Steps          int     `json:"steps"`
	// StopReason is the reason training ended: "completed" (every planned
	// step), "time_limit" or "early_stopping".
	StopReason string `json:"stop_reason,omitempty"`
	// PlannedSteps is the step count the run was configured for.
	PlannedSteps int `json:"planned_steps,omitempty"`
	// ReplayTokens is the size of the packed replay split. It is zero without
	// replay.
	ReplayTokens int64 `json:"replay_tokens,omitempty"`
	// EpochsDone is the number of passes over the training split that the
	// Steps made (fractions allowed), not counting replay sequences.
	EpochsDone float64 `json:"epochs_done"`
	// TokensPerStep is the configured batch size x sequence length x
	// accumulation steps, padding included; TokensSeen counts the real ones.
	TokensPerStep int `json:"tokens_per_step"`
	// TokensSeen is the number of real (not padding) target tokens in all
	// training batches, repeats over epochs and replay included.
	TokensSeen int64 `json:"tokens_seen"`
	// TrainTokens and ValTokens are the real (not padding) target tokens of
	// the packed splits, end-of-text tokens between documents included.
	TrainTokens int64 `json:"train_tokens"`
	ValTokens   int64 `json:"val_tokens"`
	// ValTokensPerPass is the number of target tokens that one validation
	// pass scores, fewer than ValTokens when eval_batches limits it.
	ValTokensPerPass int64 `json:"val_tokens_per_pass"`
	// DataShards are the document shards of the data folder as its
	// manifest.json listed them when training started; empty when the
	// folder has no manifest. The audit compares them with the current
	// clean output.
	DataShards []corpus.ShardInfo `json:"data_shards,omitempty"`
	// Fingerprint identifies the data, base model and settings of the run,
	// as its checkpoints record them.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Train has one point per optimizer step; Val one per evaluation.
	Train []LossPoint `json:"train"`
	Val   []LossPoint `json:"val"`
	// Config is the effective training configuration.
	Config map[string]any `json:"config,omitempty"`
}

// LossPoint is the mean next-token cross-entropy (nats) at an optimizer step.
type LossPoint struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
	// LR is the learning rate used at this step. It is zero for validation points.
	LR float64 `json:"lr,omitempty"`
	// Tokens is the number of real (not padding) training target tokens
	// seen up to and including Step.
	Tokens int64 `json:"tokens"`
}
