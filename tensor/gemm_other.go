//go:build !amd64 || purego

package tensor

// availableKernels lists the micro-kernels this build can run, for tests.
func availableKernels() []microKernel {
	return []microKernel{goKernel}
}

// hasPackAVX512 and hasPackTrans are false: this build has no assembly
// packing loops.
var hasPackAVX512, hasPackTrans = false, false

// packPanel has no assembly here; packA and packB use Go code.
func packPanel(dst, x []float32, ld, kc, valid, width int, gather bool) bool {
	return false
}
