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

// geluForwardAVX2 sets out[i] = gelu_new(inp[i]) for i < n, n a multiple
// of 8, as GeluForwardFast computes it.
//
//go:noescape
func geluForwardAVX2(out, inp *float32, n int)

// geluBackwardAVX2 adds gelu_new'(inp[i]) * dout[i] to dinp[i] for i < n,
// n a multiple of 8, as GeluBackwardFast computes it.
//
//go:noescape
func geluBackwardAVX2(dinp, inp, dout *float32, n int)

// setExpfAVX2 turns the assembly loops on or off, for tests.
func setExpfAVX2(on bool) { hasExpfAVX2 = on }

// maxAVX2 returns the largest of x[0:n], n a positive multiple of 8.
//
//go:noescape
func maxAVX2(x *float32, n int) float32

// scaleAVX2 multiplies x[0:n] by s, n a multiple of 8.
//
//go:noescape
func scaleAVX2(x *float32, n int, s float32)

// addToAVX2 adds src[0:n] to dst[0:n], n a multiple of 8.
//
//go:noescape
func addToAVX2(dst, src *float32, n int)

// layerNormParamGradAVX2 accumulates one row of LayerNormBackward's
// parameter gradients over n channels, n a multiple of 8.
//
//go:noescape
func layerNormParamGradAVX2(dweight, dbias, x, dout *float32, n int, mean, rstd float32)

// swigluForwardAVX2 computes SwiGLUForward's row loop over n elements, n a
// multiple of 8.
//
//go:noescape
func swigluForwardAVX2(out, gate, up *float32, n int)

// swigluBackwardAVX2 computes SwiGLUBackward's row loop over n elements, n
// a multiple of 8.
//
//go:noescape
func swigluBackwardAVX2(dgate, dup, gate, up, dout *float32, n int)
