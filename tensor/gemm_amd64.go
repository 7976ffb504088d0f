//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// avx2Kernel is a 6x16 micro-kernel in AVX2 and FMA assembly: twelve YMM
// accumulators (6 rows x 2 vectors of 8 floats), the register blocking of
// BLIS's Haswell sgemm kernel. Build with -tags purego to use goKernel only.
var avx2Kernel = microKernel{name: "avx2-6x16", mr: 6, nr: 16, fn: kernelAVX2}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernel = avx2Kernel
	}
}

// availableKernels lists the micro-kernels this CPU can run, for tests.
func availableKernels() []microKernel {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return []microKernel{goKernel, avx2Kernel}
	}
	return []microKernel{goKernel}
}

// sgemmKernel6x16 computes C[0:6, 0:16] += Ap @ Bp for packed panels a
// (kc x 6) and b (kc x 16). ldc is C's row stride in elements.
//
//go:noescape
func sgemmKernel6x16(kc int, a, b, c *float32, ldc int)

func kernelAVX2(kc int, a, b, c []float32, ldc, mr, nr int) {
	a = a[:6*kc]
	b = b[:16*kc]
	if mr == 6 && nr == 16 {
		_ = c[5*ldc+15]
		sgemmKernel6x16(kc, &a[0], &b[0], &c[0], ldc)
		return
	}

	// Edge tile: compute the full tile into a zeroed buffer and add the
	// valid corner.
	var tile [6 * 16]float32
	sgemmKernel6x16(kc, &a[0], &b[0], &tile[0], 16)
	addTile(tile[:], 16, c, ldc, mr, nr)
}
