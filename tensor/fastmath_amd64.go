//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// hasExpfAVX2 reports whether expShifted may call the assembly loop.
var hasExpfAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expfAVX2 sets dst[i] = exp(src[i]-shift) for i < n, n a multiple of 8,
// and returns the float32 sum of dst[0:n]. Lanes whose argument is below
// expfMin become 0, lanes above expfMax saturate at exp(expfMax), and NaN
// arguments are not propagated.
//
//go:noescape
func expfAVX2(dst, src *float32, n int, shift float32) float32
