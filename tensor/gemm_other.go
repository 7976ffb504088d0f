//go:build !amd64 || purego

package tensor

// availableKernels lists the micro-kernels this build can run, for tests.
func availableKernels() []microKernel {
	return []microKernel{goKernel}
}
