//go:build !amd64 || purego

package tensor

// availableKernels lists the micro-kernels this build can run, for tests.
func availableKernels() []microKernel {
	return []microKernel{goKernel}
}

// hasAVX512, hasPackAVX512 and hasPackTrans are false: this build has no
// assembly loops.
var hasAVX512, hasPackAVX512, hasPackTrans = false, false, false

// packPanel has no assembly here; packA and packB use Go code.
func packPanel(dst, x []float32, ld, kc, valid, width int, gather bool) bool {
	return false
}

// adamwSIMD has no assembly here; AdamWUpdate runs its Go loop.
func adamwSIMD(d, g, m, v []float32, k *adamwConsts) int {
	return 0
}

// goKernelPreferred is false: without assembly, OpenBLAS is faster.
func goKernelPreferred() bool {
	return false
}

// packPanels12x4 has no assembly here; packA uses Go code.
func packPanels12x4(dst, x []float32, ld, kc int) bool {
	return false
}
