package model

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkLoRAStep times one ForwardBackward of the quickstart GPT-2 at
// 8 x 128 tokens with a rank-8 adapter on c_attn (PEFT's default target),
// to compare with BenchmarkGPT2Step: frozen base weights skip their
// gradients.
func BenchmarkLoRAStep(b *testing.B) {
	const B, T = 8, 128
	m := NewGPT2(quickstartConfig, 1)
	if _, err := NewLoRA(m, LoRAConfig{R: 8, Alpha: 16}); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	ids, targets := make([]int32, B*T), make([]int32, B*T)
	for i := range ids {
		ids[i] = int32(r.IntN(quickstartConfig.VocabSize))
		targets[i] = int32(r.IntN(quickstartConfig.VocabSize))
	}
	m.ForwardBackward(ids, targets, B, T)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		m.ForwardBackward(ids, targets, B, T)
	}
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
