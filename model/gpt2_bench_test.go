package model

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user plus system CPU time. On a shared
// machine it measures the work of a step better than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quickstartConfig is the model the quickstart fine-tunes.
var quickstartConfig = GPT2Config{VocabSize: 4096, NPositions: 256, NEmbd: 128, NLayer: 4, NHead: 4}

// BenchmarkGPT2Step times one ForwardBackward at the quickstart's batch of
// 8 x 128 tokens.
func BenchmarkGPT2Step(b *testing.B) {
	const B, T = 8, 128
	m := NewGPT2(quickstartConfig, 1)
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
