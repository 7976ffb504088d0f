package model

import "errors"

// ErrUnsupported is wrapped by LoadGPT2 when config.json describes a model
// this package cannot run: a model_type other than "gpt2", an activation
// other than gelu_new, or sizes that do not fit together (n_embd not
// divisible by n_head).
var ErrUnsupported = errors.New("unsupported model")

// ErrMissingTensor is wrapped by LoadGPT2 when model.safetensors lacks a
// parameter the configuration requires, or stores it with the wrong shape.
var ErrMissingTensor = errors.New("missing or misshaped tensor")

// ErrInvalidGenerateOptions is wrapped by Generate and Complete when a
// GenerateOptions field is outside its valid range, or StopStrings are set
// without Decode.
var ErrInvalidGenerateOptions = errors.New("invalid generate options")
