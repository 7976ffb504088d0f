//go:build !cgo || !(linux || freebsd)

package openblas

import "errors"

// Load reports that this build cannot load OpenBLAS, because dlopen needs
// cgo.
func Load() error {
	return errors.New("loading OpenBLAS: this build has no cgo, so it uses the Go kernel")
}

// Sgemm panics: Load never succeeds in this build.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	panic("openblas: OpenBLAS is not available in this build")
}

// SetThreads returns an error: Load never succeeds in this build.
func SetThreads(n int) error {
	return errors.New("setting OpenBLAS threads: this build has no cgo")
}
