package tensor

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/adapt-llm/adapt/tensor/internal/openblas"
)

// withBLAS runs f with the backend switched to name, restoring the previous
// one afterwards. It skips the test when the backend cannot be loaded.
func withBLAS(t testing.TB, name string, f func()) {
	t.Helper()
	saved := BLAS()
	if err := SetBLAS(name); err != nil {
		t.Skipf("backend %s is not available: %v", name, err)
	}
	defer func() {
		if err := SetBLAS(saved); err != nil {
			t.Fatalf("restoring backend %s: %v", saved, err)
		}
	}()
	f()
}

func TestGemmBackendsMatchReference(t *testing.T) {
	for _, backend := range []string{blasGo, blasOpenBLAS} {
		t.Run(backend, func(t *testing.T) {
			withBLAS(t, backend, func() { testGemmMatchesReference(t) })
		})
	}
}

func TestGemmBackendsAgree(t *testing.T) {
	// A product at a model's size, where the two backends sum 768 terms in
	// different orders. Each sum of k products of N(0,1) values has a
	// magnitude near sqrt(k) and float32 rounding of about 1e-7 per term,
	// so 1e-4 relative plus 1e-5*sqrt(k) absolute covers both.
	const m, n, k = 256, 2304, 768
	r := rand.New(rand.NewPCG(5, 6))
	a, b := randSlice(r, m*k, 1), randSlice(r, k*n, 1)
	for _, tr := range []struct{ a, b bool }{{false, false}, {false, true}, {true, false}} {
		t.Run(fmt.Sprintf("ta%v_tb%v", tr.a, tr.b), func(t *testing.T) {
			lda, ldb := k, n
			if tr.a {
				lda = m
			}
			if tr.b {
				ldb = k
			}
			got, want := make([]float32, m*n), make([]float32, m*n)
			withBLAS(t, blasOpenBLAS, func() { Gemm(tr.a, tr.b, m, n, k, a, lda, b, ldb, got, n, false) })
			withBLAS(t, blasGo, func() { Gemm(tr.a, tr.b, m, n, k, a, lda, b, ldb, want, n, false) })
			assertClose(t, "C", got, want, 1e-4, 1e-5*28)
		})
	}
}

func TestSetBLASRejectsUnknownName(t *testing.T) {
	before := BLAS()
	err := SetBLAS("mkl")
	if err == nil {
		t.Fatalf("SetBLAS(%q) = nil, want an error", "mkl")
	}
	if got := BLAS(); got != before {
		t.Errorf("BLAS() after a rejected SetBLAS = %q, want %q", got, before)
	}
}

// BenchmarkGemmBackends times the products of one GPT-2 124M layer and
// its language-model head at B*T = 1024 on each backend: OpenBLAS and the
// Go path with each SIMD micro-kernel the CPU has.
func BenchmarkGemmBackends(b *testing.B) {
	cases := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"qkv_fwd_1024x2304x768", false, false, 1024, 2304, 768},
		{"fc_dinp_1024x768x3072_NT", false, true, 1024, 768, 3072},
		{"fc_dw_768x3072x1024_TN", true, false, 768, 3072, 1024},
		{"lmhead_fwd_1024x50257x768_NT", false, true, 1024, 50257, 768},
		{"lmhead_dinp_1024x768x50257", false, false, 1024, 768, 50257},
		{"lmhead_dw_50257x768x1024_TN", true, false, 50257, 768, 1024},
	}
	type variant struct {
		name, backend string
		kern          microKernel
	}
	var variants []variant
	for _, k := range availableKernels() {
		if k.name != goKernel.name {
			variants = append(variants, variant{blasGo + "-" + k.name, blasGo, k})
		}
	}
	variants = append(variants, variant{blasOpenBLAS, blasOpenBLAS, kernel})
	for _, v := range variants {
		for _, c := range cases {
			b.Run(v.name+"/"+c.name, func(b *testing.B) {
				saved := kernel
				kernel = v.kern
				defer func() { kernel = saved }()
				withBLAS(b, v.backend, func() {
					r := rand.New(rand.NewPCG(1, 1))
					lda, ldb := c.k, c.n
					if c.transA {
						lda = c.m
					}
					if c.transB {
						ldb = c.k
					}
					a, bm := randSlice(r, c.m*c.k, 1), randSlice(r, c.k*c.n, 1)
					out := make([]float32, c.m*c.n)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						Gemm(c.transA, c.transB, c.m, c.n, c.k, a, lda, bm, ldb, out, c.n, false)
					}
					flops := 2 * float64(c.m) * float64(c.n) * float64(c.k) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}

// BenchmarkOpenBLASThreading compares the two ways Gemm can use OpenBLAS
// on GOMAXPROCS cores: goroutines that each call it on one thread, or one
// call on GOMAXPROCS OpenBLAS threads.
func BenchmarkOpenBLASThreading(b *testing.B) {
	if err := SetBLAS(blasOpenBLAS); err != nil {
		b.Skipf("OpenBLAS is not available: %v", err)
	}
	const m, n, k = 1024, 2304, 768
	r := rand.New(rand.NewPCG(1, 1))
	a, bm := randSlice(r, m*k, 1), randSlice(r, k*n, 1)
	out := make([]float32, m*n)
	for _, threaded := range []bool{false, true} {
		b.Run(fmt.Sprintf("threaded=%v", threaded), func(b *testing.B) {
			saved := openblasThreaded
			openblasThreaded = threaded
			threads := 1
			if threaded {
				threads = runtime.GOMAXPROCS(0)
			}
			if err := openblas.SetThreads(threads); err != nil {
				b.Fatal(err)
			}
			defer func() {
				openblasThreaded = saved
				openblas.SetThreads(1)
			}()
			for b.Loop() {
				Gemm(false, false, m, n, k, a, k, bm, n, out, n, false)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMicroKernels times each micro-kernel alone on packed panels
// that stay in cache (kc = 256, one B panel and 16 A panels), which bounds
// what Gemm can reach on one core.
func BenchmarkMicroKernels(b *testing.B) {
	for _, k := range availableKernels() {
		b.Run(k.name, func(b *testing.B) {
			const kc, panels = 256, 16
			r := rand.New(rand.NewPCG(1, 1))
			a := randSlice(r, kc*k.mr*panels, 1)
			bp := randSlice(r, kc*k.nr, 1)
			c := make([]float32, panels*k.mr*k.nr)
			for b.Loop() {
				for p := 0; p < panels; p++ {
					k.fn(kc, a[p*kc*k.mr:], bp, c[p*k.mr*k.nr:], k.nr, k.mr, k.nr, false)
				}
			}
			flops := 2 * kc * float64(k.mr*k.nr) * panels * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
