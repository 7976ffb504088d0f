package eval

import "errors"

// ErrInvalidConfig is returned by Run when an option or setting is outside
// its valid range, such as an unknown task-set kind or a stride larger than
// the context length.
var ErrInvalidConfig = errors.New("invalid eval config")

// ErrNoDocuments is returned by Run when a task set yields no document with
// at least two tokens to score.
var ErrNoDocuments = errors.New("task set has no documents")

// ErrBadModel is returned by Run when a model folder cannot be loaded.
var ErrBadModel = errors.New("unusable model folder")

// ErrBadTaskSet is returned by Run when a task set's data is malformed: a
// JSONL line that is not a JSON object with a string "text" field, a line
// longer than 64 MiB, or a corrupt shard in a corpus-heldout folder. The
// error names the file and, for JSONL, the line.
var ErrBadTaskSet = errors.New("invalid task set")
