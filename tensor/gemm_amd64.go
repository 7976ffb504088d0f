//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// avx2Kernel is a 6x16 micro-kernel in AVX2 and FMA assembly: twelve YMM
// accumulators (6 rows x 2 vectors of 8 floats), the register blocking of
// BLIS's Haswell sgemm kernel. Build with -tags purego to use goKernel only.
var avx2Kernel = microKernel{name: "avx2-6x16", mr: 6, nr: 16, fn: kernelAVX2}

// avx512Kernel is a 12x32 micro-kernel in AVX-512 assembly: 24 ZMM
// accumulators (12 rows x 2 vectors of 16 floats), the register blocking of
// BLIS's Skylake-X sgemm kernel. On CPUs that split 512-bit operations in
// two (AMD Zen 4) it has the same FLOP rate as AVX2 per instruction but
// needs fewer loads per multiply-add.
var avx512Kernel = microKernel{name: "avx512-12x32", mr: 12, nr: 32, fn: kernelAVX512}

// availableKernels lists the micro-kernels this CPU can run, fastest last.
func availableKernels() []microKernel {
	ks := []microKernel{goKernel}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	return ks
}

// sgemmKernel6x16 computes C[0:6, 0:16] += Ap @ Bp for packed panels a
// (kc x 6) and b (kc x 16). ldc is C's row stride in elements.
//
//go:noescape
func sgemmKernel6x16(kc int, a, b, c *float32, ldc int)

func kernelAVX2(kc int, a, b, c []float32, ldc, mr, nr int, overwrite bool) {
	a = a[:6*kc]
	b = b[:16*kc]
	if mr == 6 && nr == 16 {
		_ = c[5*ldc+15]
		if overwrite {
			for i := 0; i < 6; i++ {
				clear(c[i*ldc : i*ldc+16])
			}
		}
		sgemmKernel6x16(kc, &a[0], &b[0], &c[0], ldc)
		return
	}

	// Edge tile: compute the full tile into a zeroed buffer and add the
	// valid corner.
	var tile [6 * 16]float32
	sgemmKernel6x16(kc, &a[0], &b[0], &tile[0], 16)
	storeTile(tile[:], 16, c, ldc, mr, nr, overwrite)
}

// sgemmKernel12x32 computes C[0:12, 0:32] += Ap @ Bp for packed panels a
// (kc x 12) and b (kc x 32), or C = Ap @ Bp when overwrite is true. ldc is
// C's row stride in elements.
//
//go:noescape
func sgemmKernel12x32(kc int, a, b, c *float32, ldc int, overwrite bool)

func kernelAVX512(kc int, a, b, c []float32, ldc, mr, nr int, overwrite bool) {
	a = a[:12*kc]
	b = b[:32*kc]
	if mr == 12 && nr == 32 {
		_ = c[11*ldc+31]
		sgemmKernel12x32(kc, &a[0], &b[0], &c[0], ldc, overwrite)
		return
	}
	var tile [12 * 32]float32
	sgemmKernel12x32(kc, &a[0], &b[0], &tile[0], 32, true)
	storeTile(tile[:], 32, c, ldc, mr, nr, overwrite)
}

// goKernelPreferred reports whether Gemm should use the Go kernel even when
// OpenBLAS loads: true on CPUs with AVX-512.
func goKernelPreferred() bool {
	return cpu.X86.HasAVX512F
}
