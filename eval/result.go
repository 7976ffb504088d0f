// Package eval scores models on task sets (held-out perplexity first) and
// writes one JSON result file per model and task set.
package eval

import "time"

// Result is the content of one eval result file,
// <workspace>/eval/<model>__<task_set>.json.
type Result struct {
	// Model is the short name of the model ("base", "tuned").
	Model string `json:"model"`
	// ModelPath is the model folder that was evaluated.
	ModelPath string `json:"model_path"`
	// TaskSet names the data the model was scored on ("legal-heldout",
	// "general-heldout").
	TaskSet string `json:"task_set"`
	// Task is the kind of scoring: "perplexity".
	Task      string    `json:"task"`
	CreatedAt time.Time `json:"created_at"`
	// Metrics are the aggregate scores. For perplexity: "perplexity",
	// "nll_per_token" (nats) and "tokens".
	Metrics map[string]float64 `json:"metrics"`
	// CI95 holds a bootstrap 95% confidence interval per metric, as
	// [low, high], over examples.
	CI95 map[string][2]float64 `json:"ci95,omitempty"`
	// Examples are the per-example scores behind Metrics.
	Examples []Example `json:"examples"`
	// Config is the evaluation settings (context length, stride, seed).
	Config map[string]any `json:"config,omitempty"`
	// ElapsedSeconds is the wall time, in seconds, spent scoring this task
	// set with this model. Loading the model and the task set is not
	// included. Zero in results written before the field existed.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// ModelSHA256 identifies the weights that were scored: the hex digest
	// safetensors.HashFolder returns for ModelPath, which is the SHA-256 of
	// model.safetensors, or a digest over the index and its shards for a
	// sharded model. Empty in results written before the field existed.
	ModelSHA256 string `json:"model_sha256,omitempty"`
}

// Example is one scored example, for perplexity one document.
type Example struct {
	ID string `json:"id"`
	// Tokens is the number of scored tokens.
	Tokens int `json:"tokens"`
	// NLL is the summed negative log-likelihood of the scored tokens, in nats.
	NLL float64 `json:"nll"`
}
