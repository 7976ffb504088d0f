package tensor

import (
	"fmt"
	"os"
	"strings"

	"github.com/adapt-llm/adapt/tensor/internal/openblas"
)

// Gemm sends each product to one of two backends:
//
//	"openblas"  cblas_sgemm from libopenblas.so.0, loaded with dlopen at
//	            init when the library is installed and the build has cgo
//	"go"        the packed Go kernel in gemm.go (AVX2 assembly on amd64)
//
// The environment variable ADAPT_BLAS ("go" or "openblas", in any case)
// forces one. When it is unset or empty, the Go kernel is used on CPUs with AVX-512, where its 12x32
// micro-kernel trained faster than OpenBLAS 0.3.21 in benchmarks/RESULTS.md,
// and OpenBLAS is used elsewhere if it loads. Both backends compute the same
// products; they differ only in float32 rounding, because they sum in
// different orders.
const (
	blasGo       = "go"
	blasOpenBLAS = "openblas"
)

// blasEnv is the environment variable that forces a backend.
const blasEnv = "ADAPT_BLAS"

var (
	// useOpenBLAS reports whether Gemm and GemmSerial call OpenBLAS.
	useOpenBLAS bool
	// blasLoadErr is the reason OpenBLAS is not in use, or nil.
	blasLoadErr error
	// openblasThreaded reports whether Gemm hands each product whole to
	// OpenBLAS running on GOMAXPROCS threads, instead of splitting it
	// across goroutines that each call OpenBLAS on one thread.
	openblasThreaded bool
)

func init() {
	switch mode := strings.ToLower(strings.TrimSpace(os.Getenv(blasEnv))); mode {
	case blasGo:
		blasLoadErr = fmt.Errorf("%s=%s selects the Go kernel", blasEnv, mode)
	case "":
		if goKernelPreferred() {
			blasLoadErr = fmt.Errorf("the Go kernel %s is faster than OpenBLAS on this CPU; %s=%s selects OpenBLAS", GemmKernel(), blasEnv, blasOpenBLAS)
			return
		}
		blasLoadErr = openblas.Load()
		useOpenBLAS = blasLoadErr == nil
	case blasOpenBLAS:
		blasLoadErr = openblas.Load()
		useOpenBLAS = blasLoadErr == nil
	default:
		blasLoadErr = fmt.Errorf("%s=%q is invalid, want %q or %q; using the Go kernel", blasEnv, mode, blasGo, blasOpenBLAS)
	}
}

// BLAS returns the backend Gemm uses: "openblas" or "go".
func BLAS() string {
	if useOpenBLAS {
		return blasOpenBLAS
	}
	return blasGo
}

// BLASError returns why Gemm does not use OpenBLAS (library not found,
// build without cgo, or ADAPT_BLAS), or nil when it does.
func BLASError() error {
	return blasLoadErr
}

// SetBLAS switches the backend to "go" or "openblas" for the rest of the
// process, loading OpenBLAS on first use. It returns an error, and leaves
// the backend unchanged, when the name is unknown or OpenBLAS cannot be
// loaded. It must not run concurrently with Gemm.
func SetBLAS(name string) error {
	switch name {
	case blasGo:
		useOpenBLAS = false
		return nil
	case blasOpenBLAS:
		if err := openblas.Load(); err != nil {
			return err
		}
		useOpenBLAS = true
		blasLoadErr = nil
		return nil
	}
	return fmt.Errorf("BLAS backend %q is unknown, want %q or %q", name, blasGo, blasOpenBLAS)
}
