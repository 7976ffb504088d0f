package finetune

import (
	"testing"

	"github.com/adapt-llm/adapt/model"
)

// BenchmarkTrainStep times one optimizer step (forward, backward, clipping
// and AdamW) of the base-model shape that cmd/pretrain-base trains: 4
// layers, width 128, vocabulary 4096, 8 sequences of 128 tokens.
func BenchmarkTrainStep(b *testing.B) {
	const B, T, V = 8, 128, 4096
	m := model.NewGPT2(model.GPT2Config{VocabSize: V, NPositions: 256, NEmbd: 128, NLayer: 4, NHead: 4}, 1)
	ids := make([]int32, B*T)
	targets := make([]int32, B*T)
	for i := range ids {
		ids[i] = int32(i * 7 % V)
		targets[i] = int32(i * 11 % V)
	}
	params := ParamTensors(m.Parameters())
	opt := NewAdamW(params, 0.9, 0.95, 1e-8, 0.1)

	for b.Loop() {
		m.ZeroGrad()
		m.ForwardBackward(ids, targets, B, T)
		ClipGradNorm(params, 1)
		opt.Update(1e-3)
	}
	b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
