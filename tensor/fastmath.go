package tensor

import "math"

// expf and tanhf are float32 versions of math.Exp and math.Tanh for the
// kernels that call them millions of times per step (softmax over the
// vocabulary, attention, GELU). They follow Cephes' expf (Moshier, Cephes
// Math Library 2.2, expf.c): reduce x = n*ln2 + r with |r| <= ln2/2, take a
// degree-7 polynomial for exp(r), and scale by 2^n through the exponent
// bits. The relative error is below 2 float32 ulps on the whole range, which
// the tests check against math.Exp.
const (
	// expfMax and expfMin bound the arguments whose result is a normal
	// float32; above expfMax the result is +Inf, below expfMin it is 0.
	expfMax = 88.72283
	expfMin = -87.33654
	log2e   = 1.44269504088896341
	// ln2Hi + ln2Lo = ln 2, split so that n*ln2Hi is exact for |n| <= 128.
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	// Cephes expf coefficients of exp(r) = 1 + r + r^2*(p0 + p1 r + ...).
	expP0 = 5.0000001201e-1
	expP1 = 1.6666665459e-1
	expP2 = 4.1665795894e-2
	expP3 = 8.3334519073e-3
	expP4 = 1.3981999507e-3
	expP5 = 1.9875691500e-4
)

// expf returns e^x in float32: 0 below expfMin (including -Inf), +Inf
// above expfMax, NaN for NaN.
func expf(x float32) float32 {
	if !(x < expfMax) {
		if x != x {
			return x
		}
		return float32(math.Inf(1))
	}
	if x < expfMin {
		return 0
	}

	// n = round(x / ln2), r = x - n*ln2 in two steps for precision.
	fn := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - fn*ln2Hi
	r -= fn * ln2Lo

	p := float32(expP5)
	p = p*r + expP4
	p = p*r + expP3
	p = p*r + expP2
	p = p*r + expP1
	p = p*r + expP0
	y := p*r*r + r + 1

	// y is in [0.7, 1.42] and n in [-126, 128]. Scale by 2^n in two
	// factors so that n = 128 (x near expfMax) does not overflow the
	// exponent field on the way.
	n := int32(fn)
	half := n / 2
	y *= math.Float32frombits(uint32(half+127) << 23)
	return y * math.Float32frombits(uint32(n-half+127)<<23)
}

// tanhf returns tanh(x) in float32 as 1 - 2/(e^(2x)+1), which is exact to a
// few float32 ulps in absolute terms. Near 0 the relative error grows
// (tanh(1e-4) carries about 1e-3 relative error), which the callers
// tolerate because they add the result to 1 (GELU).
func tanhf(x float32) float32 {
	if x > 9 {
		return 1
	}
	if x < -9 {
		return -1
	}
	return 1 - 2/(expf(2*x)+1)
}

// expShifted sets dst[i] = exp(src[i] - shift) for every i < len(src) and
// returns the float32 sum of the results. dst may alias src. On CPUs with
// AVX2 and FMA it runs eight lanes at a time in assembly, with the expf
// steps and bounds except that arguments above expfMax saturate at
// exp(expfMax) and NaN arguments are not propagated.
func expShifted(dst, src []float32, shift float32) float32 {
	n := len(src)
	dst = dst[:n]
	var sum float32
	head := 0
	if hasExpfAVX2 {
		head = n &^ 7
		if head > 0 {
			sum = expfAVX2(&dst[0], &src[0], head, shift)
		}
	}
	for i := head; i < n; i++ {
		e := expf(src[i] - shift)
		dst[i] = e
		sum += e
	}
	return sum
}

// maxFloat32 returns the largest element of the non-empty x, eight lanes at
// a time where the assembly loops exist. It does not propagate NaNs.
func maxFloat32(x []float32) float32 {
	head := 0
	m := x[0]
	if hasExpfAVX2 && len(x) >= 8 {
		head = len(x) &^ 7
		m = maxAVX2(&x[0], head)
	}
	for _, v := range x[head:] {
		m = max(m, v)
	}
	return m
}

// scaleFloat32 multiplies every element of x by s.
func scaleFloat32(x []float32, s float32) {
	head := 0
	if hasExpfAVX2 && len(x) >= 8 {
		head = len(x) &^ 7
		scaleAVX2(&x[0], head, s)
	}
	for i := head; i < len(x); i++ {
		x[i] *= s
	}
}

// addTo adds src to dst elementwise; src must be at least as long as dst.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	head := 0
	if hasExpfAVX2 && len(dst) >= 8 {
		head = len(dst) &^ 7
		addToAVX2(&dst[0], &src[0], head)
	}
	for i := head; i < len(dst); i++ {
		dst[i] += src[i]
	}
}

// LogSumExp returns log(sum_i exp(x[i])) for a non-empty x, as
// max + log(sum exp(x - max)). The exponentials are expf's, eight lanes at
// a time where the assembly loops exist, summed in float64 per block of
// 256 terms, as the fused cross-entropy does. A NaN in x gives NaN.
func LogSumExp(x []float32) float64 {
	for _, v := range x {
		if v != v {
			return math.NaN()
		}
	}
	m := maxFloat32(x)
	if math.IsInf(float64(m), 0) {
		return float64(m) // all -Inf gives -Inf, any +Inf gives +Inf
	}
	var block [256]float32
	var sum float64
	for lo := 0; lo < len(x); lo += len(block) {
		hi := min(lo+len(block), len(x))
		sum += float64(expShifted(block[:hi-lo], x[lo:hi], m))
	}
	return float64(m) + math.Log(sum)
}
