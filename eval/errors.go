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
