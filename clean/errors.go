package clean

import "errors"

// ErrInvalidConfig is returned by Config.Validate and Run when a threshold
// is out of range or a language code is unknown.
var ErrInvalidConfig = errors.New("invalid clean configuration")

// ErrEmptyCorpus is returned by Run when no document survives the filter
// chain. The message lists the rejections per rule and the thresholds to
// loosen. Nothing is written to the output folder.
var ErrEmptyCorpus = errors.New("no documents left after cleaning")

// ErrInputMismatch is returned by Run when the input shards do not match
// the input manifest (a different number of rows or a changed file), which
// means the collect output was modified or is incomplete.
var ErrInputMismatch = errors.New("input shards do not match their manifest")
