package safetensors

import "errors"

// ErrCorrupt is wrapped by Read and Parse when a file does not follow the
// safetensors layout: a short file, an oversized or invalid JSON header, a
// tensor whose byte range falls outside the data section or disagrees with
// its dtype and shape.
var ErrCorrupt = errors.New("corrupt safetensors file")

// ErrDType is wrapped by the Tensor conversion methods when a tensor's dtype
// is not one they can convert (for example Float32 on a BOOL tensor), and by
// Parse for dtypes this package does not know.
var ErrDType = errors.New("unsupported safetensors dtype")
