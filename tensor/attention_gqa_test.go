package tensor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestAttentionGQAForwardBackward(t *testing.T) {
	cases := []struct{ B, T, NH, NKV, HS int }{
		{2, 7, 4, 2, 8},   // two query heads per key/value head
		{1, 12, 6, 1, 4},  // multi-query attention
		{2, 5, 3, 3, 6},   // ordinary multi-head attention
		{1, 130, 4, 2, 8}, // more rows than one attention block
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("B%d_T%d_NH%d_NKV%d_HS%d", c.B, c.T, c.NH, c.NKV, c.HS), func(t *testing.T) {
			testAttentionGQA(t, c.B, c.T, c.NH, c.NKV, c.HS)
		})
	}
}

func testAttentionGQA(t *testing.T, B, T, NH, NKV, HS int) {
	r := rand.New(rand.NewPCG(31, uint64(NH*100+NKV)))
	L, C := (NH+2*NKV)*HS, NH*HS
	qkv := randSlice(r, B*T*L, 1)
	out, att := make([]float32, B*T*C), make([]float32, B*NH*T*T)
	outRef, attRef := make([]float32, B*T*C), make([]float32, B*NH*T*T)
	AttentionGQAForward(out, att, qkv, B, T, NH, NKV, HS)
	AttentionGQAForwardRef(outRef, attRef, qkv, B, T, NH, NKV, HS)
	// The reference sums in float64; the fast path rounds sums of HS or T
	// float32 products, about 1e-6 relative on values of order 1.
	assertClose(t, "out", out, outRef, 1e-5, 1e-6)
	assertClose(t, "att", att, attRef, 1e-5, 1e-6)

	w := randSlice(r, B*T*C, 1)
	dqkv, datt := make([]float32, B*T*L), make([]float32, B*NH*T*T)
	AttentionGQABackward(dqkv, datt, w, qkv, att, B, T, NH, NKV, HS)
	dqkvRef, dattRef := make([]float32, B*T*L), make([]float32, B*NH*T*T)
	AttentionGQABackwardRef(dqkvRef, dattRef, w, qkv, att, B, T, NH, NKV, HS)
	assertClose(t, "dqkv", dqkv, dqkvRef, 1e-4, 1e-5)

	f := func() float64 {
		AttentionGQAForwardRef(outRef, attRef, qkv, B, T, NH, NKV, HS)
		return weightedSum(outRef, w)
	}
	checkFiniteDiff(t, "dqkv", qkv, dqkv, f)
}

func TestAttentionGQAMatchesMultiHead(t *testing.T) {
	// With NKV == NH the packed layout is GPT-2's [q | k | v], so both
	// kernels must agree.
	r := rand.New(rand.NewPCG(33, 34))
	const B, T, NH, HS = 2, 6, 3, 4
	C := NH * HS
	qkv := randSlice(r, B*T*3*C, 1)
	got, want := make([]float32, B*T*C), make([]float32, B*T*C)
	AttentionGQAForward(got, make([]float32, B*NH*T*T), qkv, B, T, NH, NH, HS)
	AttentionForward(want, make([]float32, B*NH*T*T), slices.Clone(qkv), B, T, C, NH)
	assertClose(t, "out", got, want, 1e-5, 1e-6)
}

func TestAttentionGQARejectsUnevenGroups(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AttentionGQAForward with NH=4, NKV=3 did not panic")
		}
	}()
	AttentionGQAForward(make([]float32, 64), make([]float32, 64), make([]float32, 256), 1, 2, 4, 3, 2)
}
