//go:build cgo && (linux || freebsd)

package openblas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

// The CBLAS interface (netlib CBLAS, as OpenBLAS 0.3 exports it):
// enum CBLAS_ORDER { CblasRowMajor = 101 }, enum CBLAS_TRANSPOSE
// { CblasNoTrans = 111, CblasTrans = 112 }.
typedef void (*sgemm_fn)(int order, int transa, int transb, int m, int n, int k,
	float alpha, const float *a, int lda, const float *b, int ldb,
	float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);

static sgemm_fn adapt_sgemm;
static set_threads_fn adapt_set_threads;

static int adapt_blas_open(const char *name) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) return 1;
	sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
	if (f == NULL) { dlclose(h); return 2; }
	// adapt splits products across goroutines itself, so each call runs
	// on one OpenBLAS thread.
	set_threads_fn st = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
	if (st != NULL) st(1);
	adapt_set_threads = st;
	adapt_sgemm = f;
	return 0;
}

static int adapt_blas_set_threads(int n) {
	if (adapt_set_threads == NULL) return 1;
	adapt_set_threads(n);
	return 0;
}

static const char *adapt_blas_dlerror(void) { return dlerror(); }

static void adapt_blas_sgemm(int ta, int tb, int m, int n, int k,
	const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
	adapt_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

var (
	loadOnce sync.Once
	loadErr  error
)

// Load opens the first of Libraries that exports cblas_sgemm and sets
// OpenBLAS to one thread per call. Later calls return the first result.
func Load() error {
	loadOnce.Do(func() {
		for _, name := range Libraries {
			cname := C.CString(name)
			rc := C.adapt_blas_open(cname)
			C.free(unsafe.Pointer(cname))
			if rc == 0 {
				loadErr = nil
				return
			}
			if rc == 1 {
				loadErr = fmt.Errorf("loading OpenBLAS: %s (install libopenblas0 or set ADAPT_BLAS=go)", C.GoString(C.adapt_blas_dlerror()))
			} else {
				loadErr = fmt.Errorf("loading OpenBLAS: %s has no cblas_sgemm", name)
			}
		}
	})
	return loadErr
}

// SetThreads sets the number of threads OpenBLAS uses in each call, for
// the whole process. It returns an error when the library has no
// openblas_set_num_threads. Load must have succeeded.
func SetThreads(n int) error {
	if C.adapt_blas_set_threads(C.int(n)) != 0 {
		return errors.New("setting OpenBLAS threads: the library has no openblas_set_num_threads")
	}
	return nil
}

// Sgemm computes C = op(A) @ op(B), or C += op(A) @ op(B) when
// accumulate is true, with row-major operands as tensor.Gemm takes them.
// It runs on the calling thread. The caller has checked the shapes and
// called Load successfully, and m, n and k are positive.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	var beta C.float
	if accumulate {
		beta = 1
	}
	C.adapt_blas_sgemm(cBool(transA), cBool(transB), C.int(m), C.int(n), C.int(k),
		(*C.float)(unsafe.Pointer(&a[0])), C.int(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.int(ldb),
		beta, (*C.float)(unsafe.Pointer(&c[0])), C.int(ldc))
}

func cBool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}
