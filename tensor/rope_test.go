package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// ropeSetup returns a random [B,T,ld] buffer and the unscaled rotation table
// for head size HS.
func ropeSetup(r *rand.Rand, B, T, ld, HS int, theta float64) (x, cos, sin []float32, inv []float64) {
	inv = RoPEInvFreq(HS, theta, RoPEScaling{})
	cos, sin = make([]float32, T*HS/2), make([]float32, T*HS/2)
	RoPETable(cos, sin, inv, T)
	return randSlice(r, B*T*ld, 1), cos, sin, inv
}

func TestRoPEForwardMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const B, T, nHeads, HS = 2, 33, 3, 16
	const ld = nHeads*HS + 5 // padding columns must stay untouched
	x, cos, sin, inv := ropeSetup(r, B, T, ld, HS, 10000)
	want := slices.Clone(x)
	RoPEForward(x, ld, cos, sin, B, T, nHeads, HS)
	RoPEForwardRef(want, ld, inv, B, T, nHeads, HS)
	// The table rounds cos and sin to float32 once; the reference keeps
	// them in float64, a difference of a few ulps of values of order 1.
	assertClose(t, "x", x, want, 1e-6, 1e-6)
}

func TestRoPEPositionZeroIsIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	x, cos, sin, _ := ropeSetup(r, 1, 1, 8, 8, 10000)
	want := slices.Clone(x)
	RoPEForward(x, 8, cos, sin, 1, 1, 1, 8)
	assertClose(t, "x", x, want, 0, 0)
}

func TestRoPEBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	const B, T, nHeads, HS = 2, 9, 2, 8
	const ld = nHeads * HS
	x, cos, sin, inv := ropeSetup(r, B, T, ld, HS, 10000)
	w := randSlice(r, B*T*ld, 1)

	grad := slices.Clone(w)
	RoPEBackward(grad, ld, cos, sin, B, T, nHeads, HS)
	buf := make([]float32, len(x))
	f := func() float64 {
		copy(buf, x)
		RoPEForwardRef(buf, ld, inv, B, T, nHeads, HS)
		return weightedSum(buf, w)
	}
	checkFiniteDiff(t, "dx", x, grad, f)

	// The rotation is orthogonal: the backward undoes the forward.
	y := slices.Clone(x)
	RoPEForward(y, ld, cos, sin, B, T, nHeads, HS)
	RoPEBackward(y, ld, cos, sin, B, T, nHeads, HS)
	assertClose(t, "backward(forward(x))", y, x, 1e-5, 1e-6)
}

func TestRoPEInvFreq(t *testing.T) {
	llama31 := RoPEScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}
	plain := RoPEInvFreq(128, 500000, RoPEScaling{})
	scaled := RoPEInvFreq(128, 500000, llama31)
	linear := RoPEInvFreq(128, 500000, RoPEScaling{Type: "linear", Factor: 4})
	cases := []struct {
		name      string
		got, want float64
	}{
		{"plain first", plain[0], 1},
		{"plain second", plain[1], math.Pow(500000, -2.0/128)},
		{"llama3 keeps high frequencies", scaled[0], 1},
		{"llama3 divides low frequencies", scaled[63], plain[63] / 8},
		// Smoothed band, values from the transformers v4.45 formula
		// evaluated separately in Python float64.
		{"llama3 smoothed 29", scaled[29], 0.002166570763503359},
		{"llama3 smoothed 31", scaled[31], 0.0008567514129196321},
		{"linear", linear[10], plain[10] / 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if math.Abs(c.got-c.want) > 1e-12*math.Abs(c.want) {
				t.Errorf("got %.17g, want %.17g", c.got, c.want)
			}
		})
	}
	for i := 1; i < len(scaled); i++ {
		if scaled[i] > scaled[i-1] {
			t.Errorf("llama3 frequencies increase at %d: %g > %g", i, scaled[i], scaled[i-1])
		}
	}
}

func TestRoPEInvFreqPanics(t *testing.T) {
	cases := []struct {
		name    string
		HS      int
		scaling RoPEScaling
	}{
		{"odd head size", 7, RoPEScaling{}},
		{"unknown type", 8, RoPEScaling{Type: "yarn", Factor: 2}},
		{"factor below one", 8, RoPEScaling{Type: "linear", Factor: 0.5}},
		{"llama3 without bands", 8, RoPEScaling{Type: "llama3", Factor: 8}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("RoPEInvFreq(%d, %+v) did not panic", c.HS, c.scaling)
				}
			}()
			RoPEInvFreq(c.HS, 10000, c.scaling)
		})
	}
}
