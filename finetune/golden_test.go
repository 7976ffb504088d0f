package finetune

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/adapt-llm/adapt/internal/sharedtest"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/model/safetensors"
)

// TestAdamWGolden runs three clipped AdamW steps on the tiny GPT-2 reference
// model and compares losses, gradient norms and every parameter with
// PyTorch's float64 results.
func TestAdamWGolden(t *testing.T) {
	dir := sharedtest.Dir(t, "goldens", "models", "gpt2-tiny")
	var golden struct {
		AdamW struct {
			LR          float64    `json:"lr"`
			Betas       [2]float64 `json:"betas"`
			Eps         float64    `json:"eps"`
			WeightDecay float64    `json:"weight_decay"`
			Clip        float64    `json:"grad_clip_global_norm"`
			Steps       int        `json:"steps"`
			Losses      []float64  `json:"loss_before_each_step"`
			GradNorms   []float64  `json:"grad_norm_before_clip"`
			LossAfter   float64    `json:"loss_after_3_steps"`
		} `json:"adamw"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "goldens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	tensors, err := safetensors.Read(filepath.Join(dir, "goldens.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.LoadGPT2(dir)
	if err != nil {
		t.Fatal(err)
	}

	// Next-token targets: ids shifted left, the last position ignored.
	idsTensor, ok := tensors.Tensor("input_ids")
	if !ok {
		t.Fatal("goldens lack input_ids")
	}
	ids64, err := idsTensor.Int64()
	if err != nil {
		t.Fatal(err)
	}
	B, T := idsTensor.Shape[0], idsTensor.Shape[1]
	ids := make([]int32, len(ids64))
	targets := make([]int32, len(ids64))
	for i, v := range ids64 {
		ids[i] = int32(v)
		targets[i] = model.IgnoreIndex
		if (i+1)%T != 0 {
			targets[i] = int32(ids64[i+1])
		}
	}

	g := golden.AdamW
	params := ParamTensors(m.Parameters())
	opt := NewAdamW(params, g.Betas[0], g.Betas[1], g.Eps, g.WeightDecay)
	for step := range g.Steps {
		m.ZeroGrad()
		loss := float64(m.ForwardBackward(ids, targets, B, T))
		norm := ClipGradNorm(params, g.Clip)
		opt.Update(g.LR)

		// 1e-4 relative: float32 forward and backward against float64.
		if !closeRel(loss, g.Losses[step], 1e-4) {
			t.Errorf("step %d loss: got %.8f, want %.8f", step+1, loss, g.Losses[step])
		}
		if !closeRel(norm, g.GradNorms[step], 1e-4) {
			t.Errorf("step %d gradient norm: got %.8f, want %.8f", step+1, norm, g.GradNorms[step])
		}
	}
	if loss := float64(m.Loss(ids, targets, B, T)); !closeRel(loss, g.LossAfter, 1e-4) {
		t.Errorf("loss after %d steps: got %.8f, want %.8f", g.Steps, loss, g.LossAfter)
	}

	// Each step moves a weight by at most about lr (1e-3). Float32
	// gradients within 1e-4 relative of the reference keep Adam's
	// normalized update m/√v within 1e-5 (1% of a step) of it. Where a
	// gradient is near zero, float32 rounding changes m/√v a lot, so those
	// few weights may be off by 5e-5 (5% of a step).
	const tol, typicalTol = 5e-5, 1e-5
	var loose, total int
	for _, p := range params {
		ref, ok := tensors.Tensor("adamw3." + p.Name)
		if !ok {
			t.Errorf("goldens lack adamw3.%s", p.Name)
			continue
		}
		want, err := ref.Float64()
		if err != nil {
			t.Fatal(err)
		}
		worst, at := 0.0, 0
		for i, v := range p.Data {
			if d := math.Abs(float64(v) - want[i]); d > worst {
				worst, at = d, i
			}
		}
		for i, v := range p.Data {
			if math.Abs(float64(v)-want[i]) > typicalTol {
				loose++
			}
		}
		total += len(p.Data)
		if worst > tol {
			t.Errorf("%s after %d steps: max abs difference %.3g at index %d (got %v, want %v), tolerance %g",
				p.Name, g.Steps, worst, at, p.Data[at], want[at], tol)
		}
	}
	if loose*1000 > total {
		t.Errorf("%d of %d weights differ by more than %g, want at most 0.1%%", loose, total, typicalTol)
	}
}

func closeRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}
