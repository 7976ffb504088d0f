// Package finetune trains causal language models on cleaned corpus shards:
// sequence packing, AdamW, learning-rate schedules, gradient clipping,
// held-out validation, checkpoints and export as a Hugging Face folder.
package finetune

import "time"

// Metrics is the content of <workspace>/finetune/metrics.json: the loss
// curves and totals of one training run.
type Metrics struct {
	BaseModel string    `json:"base_model"`
	OutputDir string    `json:"output_dir"`
	StartedAt time.Time `json:"started_at"`
	// ElapsedSeconds is the wall time of the training loop.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Steps          int     `json:"steps"`
	// StopReason says why training ended: "completed" (every planned
	// step), "time_limit" or "early_stopping".
	StopReason string `json:"stop_reason,omitempty"`
	// PlannedSteps is the step count the run was configured for.
	PlannedSteps int `json:"planned_steps,omitempty"`
	// ReplayTokens is the size of the packed replay split; zero without
	// replay.
	ReplayTokens int64 `json:"replay_tokens,omitempty"`
	// TokensPerStep is batch size x sequence length x accumulation steps.
	TokensPerStep int `json:"tokens_per_step"`
	// TrainTokens and ValTokens are the sizes of the packed splits.
	TrainTokens int64 `json:"train_tokens"`
	ValTokens   int64 `json:"val_tokens"`
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
	// LR is the learning rate used at this step; zero for validation points.
	LR float64 `json:"lr,omitempty"`
	// Tokens is the number of tokens seen so far.
	Tokens int64 `json:"tokens"`
}
