package corpus

import "time"

// Manifest describes the output of one stage run. Every stage writes one as
// manifest.json next to its shards.
type Manifest struct {
	SchemaVersion int       `json:"schema_version"`
	Stage         string    `json:"stage"`
	ToolVersion   string    `json:"tool_version"`
	CreatedAt     time.Time `json:"created_at"`
	// Config is the stage's effective configuration.
	Config any `json:"config,omitempty"`
	// Inputs are the shards or files the stage read, with their hashes.
	Inputs []ShardInfo `json:"inputs,omitempty"`
	// Shards are the output document shards, in order.
	Shards []ShardInfo `json:"shards"`
	// Rejected is the rejected-documents file; Rows is zero when none were
	// rejected (the file still exists, with zero rows).
	Rejected ShardInfo `json:"rejected"`
	Counts   Counts    `json:"counts"`
	// RuleCounts counts documents per rule or reason code (for clean: how
	// many documents each rule rejected or changed).
	RuleCounts map[string]int64 `json:"rule_counts,omitempty"`
	// Stats holds stage-specific numbers (bytes before and after, token
	// counts, timings in seconds).
	Stats map[string]float64 `json:"stats,omitempty"`
}

// ShardInfo identifies one file by its path relative to the workspace, its
// SHA-256 and its row count.
type ShardInfo struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
}

// Counts holds the row-count invariant of a stage: In = Kept + Rejected.
type Counts struct {
	In       int64 `json:"in"`
	Kept     int64 `json:"kept"`
	Rejected int64 `json:"rejected"`
}
