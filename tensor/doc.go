// Package tensor holds the float32 kernels of the CPU training engine, each
// with a forward and, right below it, the backward that differentiates it.
//
// Shape legend, as in llm.c (Karpathy, train_gpt2.c):
//
//	B   batch size
//	T   sequence length
//	C   channels (model width, n_embd)
//	OC  output channels of a matrix product
//	V   vocabulary size
//	NH  number of attention heads
//	HS  head size, C / NH
//
// All tensors are flat []float32 slices in row-major order: a tensor of shape
// [B,T,C] stores element (b,t,c) at index (b*T+t)*C+c. Each kernel's doc
// comment gives its formula, the shape of every operand and whether it
// overwrites or accumulates into its output. Backward kernels accumulate
// (+=) into gradient buffers unless their doc states otherwise, so callers zero
// gradients once per step.
//
// Each optimized kernel has a plain reference implementation (suffix Ref)
// beside it, and the tests check that both agree. Shape mismatches are
// programmer errors and panic with both shapes in the message.
package tensor

import "fmt"

// checkLen panics unless len(x) >= want. name identifies the operand.
func checkLen(kernel, name string, x []float32, want int) {
	if len(x) < want {
		panic(fmt.Sprintf("tensor.%s: %s has %d elements, want at least %d", kernel, name, len(x), want))
	}
}
