package main

import (
	"testing"

	"github.com/adapt-llm/adapt/model"
)

func TestFLOPsCountEveryMultipliedWeight(t *testing.T) {
	sp := specs["small"]
	m := model.NewGPT2(sp.cfg, 1)
	// Every parameter except the position table multiplies activations.
	weights := m.NumParameters() - sp.cfg.NPositions*sp.cfg.NEmbd
	attention := 12 * sp.cfg.NLayer * sp.T * sp.cfg.NEmbd
	want := float64(6*weights + attention)
	if got := modelFLOPsPerToken(sp); got != want {
		t.Errorf("modelFLOPsPerToken(small) = %g, want %g", got, want)
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 3},
	}
	for _, c := range cases {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %g, want %g", c.in, got, c.want)
		}
	}
}
