package finetune

import "errors"

// ErrInvalidConfig is returned by Config.Validate and Run when a setting is
// outside its valid range.
var ErrInvalidConfig = errors.New("invalid finetune config")

// ErrNoData is returned by Run when the data folder holds no documents, or
// too few tokens to fill one training sequence.
var ErrNoData = errors.New("no training data")

// ErrBadBaseModel is returned by Run when the base model folder lacks
// config.json or tokenizer.json, or names an architecture the trainer does
// not support.
var ErrBadBaseModel = errors.New("unusable base model folder")

// ErrCheckpointMismatch is returned by Run when the newest checkpoint under
// the output folder was written for other data, another base model or
// another configuration, so resuming from it would not continue that run.
var ErrCheckpointMismatch = errors.New("checkpoint does not match this run")
