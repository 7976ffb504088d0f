package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGenerate compares generation over the KV cache with the full
// recompute of Greedy: a 32-token prompt and 64 new tokens on the
// SmolLM-shaped benchmark model.
func BenchmarkGenerate(b *testing.B) {
	const promptLen, newTokens = 32, 64
	m := NewLlama(smolLMBenchConfig, 1)
	r := rand.New(rand.NewPCG(1, 2))
	prompt := make([]int32, promptLen)
	for i := range prompt {
		prompt[i] = int32(r.IntN(smolLMBenchConfig.VocabSize))
	}

	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if cached {
					if _, err := Generate(m, prompt, GenerateOptions{MaxNewTokens: newTokens}); err != nil {
						b.Fatal(err)
					}
				} else {
					m.Greedy(prompt, newTokens)
				}
			}
			b.ReportMetric(float64(newTokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
