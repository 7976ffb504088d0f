package model

import (
	"math/rand/v2"
	"testing"
)

// smolLMBenchConfig has SmolLM-135M's layer shape (C 576, I 1536, 9 query
// and 3 key/value heads of 64, tied embeddings) with 4 layers instead of
// 30 and a vocabulary of 8192 instead of 49152, so one step fits a short
// benchmark.
var smolLMBenchConfig = LlamaConfig{
	ModelType: "llama", VocabSize: 8192, HiddenSize: 576, IntermediateSize: 1536,
	NumHiddenLayers: 4, NumAttentionHeads: 9, NumKeyValueHeads: 3,
	MaxPositionEmbeddings: 2048, RMSNormEps: 1e-5, RopeTheta: 10000, TieWordEmbeddings: true,
}

// BenchmarkLlamaStep times one ForwardBackward on 4 x 128 tokens.
func BenchmarkLlamaStep(b *testing.B) {
	const B, T = 4, 128
	cfg := smolLMBenchConfig
	m := NewLlama(cfg, 1)
	r := rand.New(rand.NewPCG(1, 2))
	ids, targets := make([]int32, B*T), make([]int32, B*T)
	for i := range ids {
		ids[i] = int32(r.IntN(cfg.VocabSize))
		targets[i] = int32(r.IntN(cfg.VocabSize))
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
	b.ReportMetric(float64(m.NumParameters())/1e6, "Mparams")
}
