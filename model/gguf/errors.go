package gguf

import "errors"

// ErrCorrupt is wrapped by Read and Parse when a file does not follow the
// GGUF layout: a bad magic number, a length or count that runs past the end
// of the file, an unknown metadata value type, or tensor data that falls
// outside the data section. The message names the file, the field and its
// byte offset.
var ErrCorrupt = errors.New("corrupt GGUF file")

// ErrUnsupported is wrapped by Parse for GGUF versions other than 2 and 3,
// by Tensor.Float32 for ggml tensor types it cannot dequantize (only F32,
// F16, BF16 and Q8_0 are implemented), and by the llama mapping functions
// for an architecture or tokenizer model they do not handle.
var ErrUnsupported = errors.New("unsupported GGUF content")

// ErrMissing is wrapped by the llama mapping functions when a metadata key
// or tensor that the architecture requires is absent or has the wrong type
// or shape.
var ErrMissing = errors.New("missing GGUF metadata or tensor")
