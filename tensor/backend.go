package tensor

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Backend runs the kernels that package model calls, one call per kernel
// invocation. Each method has the signature, semantics and panics of the
// package-level function of the same name, which documents shapes and
// whether the output is overwritten or accumulated. Implementations must
// be safe for concurrent use.
//
// A new backend embeds CPU and overrides the kernels it accelerates, so a
// kernel it leaves out keeps running on the CPU.
//
// NOTE: every operand is a host []float32, so a device backend must copy
// operands in and out on each call or use host-visible memory such as CUDA
// managed memory. No allocation hook exists yet: model code allocates
// parameters and activations with make. RoPETable, RoPEInvFreq, the
// single-goroutine GemmSerial of cached decoding, and finetune's AdamW
// (which does not call AdamWUpdate yet) stay outside the interface.
type Backend interface {
	// Name is the name SetBackend selects the backend by, such as "cpu".
	Name() string

	Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool)
	MatmulForward(out, inp, weight, bias []float32, N, C, OC int)
	MatmulBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int)
	LinearForward(out, inp, weight, bias []float32, N, C, OC int)
	LinearBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int)

	EncoderForward(out []float32, ids []int32, wte, wpe []float32, B, T, C int)
	EncoderBackward(dwte, dwpe, dout []float32, ids []int32, B, T, C int)
	ResidualForward(out, a, b []float32, n int)

	LayerNormForward(out, mean, rstd, inp, weight, bias []float32, N, C int, eps float32)
	LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int)
	RMSNormForward(out, rstd, inp, weight []float32, N, C int, eps float32)
	RMSNormBackward(dinp, dweight, dout, inp, weight, rstd []float32, N, C int)

	AttentionForward(out, att, qkv []float32, B, T, C, NH int)
	AttentionBackward(dqkv, datt, dout, qkv, att []float32, B, T, C, NH int)
	AttentionGQAForward(out, att, qkv []float32, B, T, NH, NKV, HS int)
	AttentionGQABackward(dqkv, datt, dout, qkv, att []float32, B, T, NH, NKV, HS int)
	RoPEForward(x []float32, ld int, cos, sin []float32, B, T, nHeads, HS int)
	RoPEBackward(dx []float32, ld int, cos, sin []float32, B, T, nHeads, HS int)

	GeluForward(out, inp []float32, n int)
	GeluBackward(dinp, inp, dout []float32, n int)
	GeluForwardFast(out, inp []float32, n int)
	GeluBackwardFast(dinp, inp, dout []float32, n int)
	SwiGLUForward(out, inp []float32, N, I int)
	SwiGLUBackward(dinp, dout, inp []float32, N, I int)

	CrossEntropyForward(losses, probs, logits []float32, targets []int32, N, V int)
	CrossEntropyBackward(dlogits, probs []float32, targets []int32, dloss float32, N, V int)
	CrossEntropyForwardBackward(losses, dlogits, logits []float32, targets []int32, dloss float32, N, V int)
	AdamWUpdate(data, grad, m, v []float32, s AdamWStep)
}

// ErrUnknownBackend is wrapped by SetBackend when no backend of the
// requested name is registered in this build, such as "cuda" in a build
// without a CUDA backend.
var ErrUnknownBackend = errors.New("compute backend not available")

// DefaultBackend is the name of the backend Current returns until
// SetBackend selects another.
const DefaultBackend = "cpu"

var (
	backendsMu sync.Mutex
	backends   = map[string]Backend{DefaultBackend: CPU{}}
)

// backendBox lets an atomic.Pointer hold an interface value.
type backendBox struct{ b Backend }

var current atomic.Pointer[backendBox]

func init() {
	current.Store(&backendBox{CPU{}})
}

// RegisterBackend makes b selectable by SetBackend under b.Name(). A
// backend in a file behind a build tag calls it from init. It panics when
// the name is empty or already registered.
func RegisterBackend(b Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()

	name := b.Name()
	if name == "" {
		panic(fmt.Sprintf("tensor.RegisterBackend: %T has an empty name", b))
	}
	if _, dup := backends[name]; dup {
		panic(fmt.Sprintf("tensor.RegisterBackend: backend %q is already registered", name))
	}
	backends[name] = b
}

// SetBackend makes the backend called name the one Current returns, for
// every model from the next kernel call on. Call it before a model runs,
// because a running forward pass may otherwise mix backends. It returns an
// error wrapping ErrUnknownBackend, listing the registered names, when no
// backend called name exists in this build.
func SetBackend(name string) error {
	backendsMu.Lock()
	defer backendsMu.Unlock()

	b, ok := backends[name]
	if !ok {
		hint := ""
		if name == "cuda" {
			hint = "; this build of adapt has no CUDA backend"
		}
		return fmt.Errorf("selecting compute backend %q: %w%s; available: %v", name, ErrUnknownBackend, hint, backendNames())
	}
	current.Store(&backendBox{b})
	return nil
}

// Backends returns the names of the registered backends, sorted.
func Backends() []string {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	return backendNames()
}

// backendNames returns the sorted registry keys; the caller holds
// backendsMu.
func backendNames() []string {
	names := make([]string, 0, len(backends))
	for name := range backends {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Current returns the selected backend: CPU unless SetBackend chose
// another. It costs one atomic load, so callers may call it per kernel.
func Current() Backend {
	return current.Load().b
}
