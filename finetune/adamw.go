package finetune

import (
	"fmt"
	"math"

	"github.com/adapt-llm/adapt/tensor"
)

// Tensor is the optimizer's view of one trainable parameter: a flat
// row-major Data slice of the given Shape and its gradient Grad of the same
// length. The optimizer updates Data in place and reads Grad.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
	Grad  []float32
}

// AdamW is the Adam optimizer with decoupled weight decay (Loshchilov and
// Hutter, "Decoupled Weight Decay Regularization", 2019), following the
// update of torch.optim.AdamW in PyTorch 1.13:
//
//	θ ← θ − lr·wd·θ                          (only tensors with 2+ dims)
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	θ ← θ − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
//
// Biases and LayerNorm gains (1-dimensional tensors) get no weight decay, as
// in GPT-2 and nanoGPT training recipes. Moments are stored in float32 and
// each update is computed in float64.
type AdamW struct {
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64

	params []Tensor
	m, v   [][]float32 // one per parameter, same length as its Data
	step   int         // number of updates taken
}

// NewAdamW returns an optimizer for params with zeroed moments. It panics if
// a parameter's Grad and Data lengths differ or do not match its Shape.
func NewAdamW(params []Tensor, beta1, beta2, eps, weightDecay float64) *AdamW {
	opt := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay, params: params}
	for _, p := range params {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		if len(p.Data) != n || len(p.Grad) != n {
			panic(fmt.Sprintf("finetune: parameter %s has shape %v (%d values) but len(Data)=%d, len(Grad)=%d",
				p.Name, p.Shape, n, len(p.Data), len(p.Grad)))
		}
		opt.m = append(opt.m, make([]float32, n))
		opt.v = append(opt.v, make([]float32, n))
	}
	return opt
}

// Step returns the number of updates taken so far.
func (o *AdamW) Step() int { return o.step }

// Update applies one AdamW step with learning rate lr to every parameter,
// using the gradients currently in Grad. It does not zero the gradients.
func (o *AdamW) Update(lr float64) {
	o.step++
	for i, p := range o.params {
		decay := 1.0
		if len(p.Shape) >= 2 {
			decay = 1 - lr*o.WeightDecay
		}
		tensor.AdamWUpdate(p.Data, p.Grad, o.m[i], o.v[i], tensor.AdamWStep{
			LR: lr, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, Decay: decay, Step: o.step,
		})
	}
}

// Moments returns the first and second moment buffers, one per parameter in
// the order given to NewAdamW. The slices alias the optimizer's state, so a
// checkpoint loader can fill them in place.
func (o *AdamW) Moments() (m, v [][]float32) { return o.m, o.v }

// SetStep sets the number of updates taken, for resuming from a checkpoint.
func (o *AdamW) SetStep(step int) { o.step = step }

// clipEpsilon is added to the norm before dividing, as
// torch.nn.utils.clip_grad_norm_ does, so a zero gradient stays finite.
const clipEpsilon = 1e-6

// GradNorm returns the global L2 norm of all gradients in params, summed in
// float64.
func GradNorm(params []Tensor) float64 {
	var sum float64
	for _, p := range params {
		for _, g := range p.Grad {
			sum += float64(g) * float64(g)
		}
	}
	return math.Sqrt(sum)
}

// ClipGradNorm scales every gradient by maxNorm/(norm+1e-6) when the global
// L2 norm exceeds maxNorm, as torch.nn.utils.clip_grad_norm_ (PyTorch 1.13)
// does, and returns the norm before clipping. A maxNorm of zero or less
// leaves the gradients unchanged.
func ClipGradNorm(params []Tensor, maxNorm float64) float64 {
	norm := GradNorm(params)
	if maxNorm <= 0 {
		return norm
	}
	coef := maxNorm / (norm + clipEpsilon)
	if coef >= 1 {
		return norm
	}
	ScaleGrads(params, coef)
	return norm
}

// ScaleGrads multiplies every gradient by s.
func ScaleGrads(params []Tensor, s float64) {
	for _, p := range params {
		for j := range p.Grad {
			p.Grad[j] = float32(float64(p.Grad[j]) * s)
		}
	}
}
