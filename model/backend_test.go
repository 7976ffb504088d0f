package model

import (
	"slices"
	"sync"
	"testing"

	"github.com/adapt-llm/adapt/tensor"
)

// tracingBackend runs on the CPU and counts the matrix-product calls that
// reach it, to show that model code dispatches through tensor.Current.
type tracingBackend struct {
	tensor.CPU
	calls int
}

func (*tracingBackend) Name() string { return "tracing-model-test" }

func (b *tracingBackend) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, bm []float32, ldb int, c []float32, ldc int, accumulate bool) {
	b.calls++
	b.CPU.Gemm(transA, transB, m, n, k, a, lda, bm, ldb, c, ldc, accumulate)
}

func (b *tracingBackend) MatmulForward(out, inp, weight, bias []float32, N, C, OC int) {
	b.calls++
	b.CPU.MatmulForward(out, inp, weight, bias, N, C, OC)
}

func (b *tracingBackend) LinearForward(out, inp, weight, bias []float32, N, C, OC int) {
	b.calls++
	b.CPU.LinearForward(out, inp, weight, bias, N, C, OC)
}

var (
	tracing         = &tracingBackend{}
	registerTracing sync.Once
)

func TestModelsUseSelectedBackend(t *testing.T) {
	registerTracing.Do(func() { tensor.RegisterBackend(tracing) })
	cases := []struct {
		name string
		m    CausalLM
	}{
		{"gpt2", NewGPT2(GPT2Config{VocabSize: 50, NPositions: 16, NEmbd: 16, NLayer: 2, NHead: 2}, 1)},
		{"llama", NewLlama(smallLlama(), 2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := []int32{1, 2, 3, 4}
			want := slices.Clone(c.m.Forward(ids, 1, 4))

			if err := tensor.SetBackend(tracing.Name()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tensor.SetBackend(tensor.DefaultBackend) })
			tracing.calls = 0
			got := c.m.Forward(ids, 1, 4)

			if tracing.calls == 0 {
				t.Errorf("Forward made no matrix-product call through the selected backend")
			}
			if !slices.Equal(got, want) {
				t.Errorf("logits through the tracing backend differ from the cpu backend's")
			}
		})
	}
}
