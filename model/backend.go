package model

import "github.com/adapt-llm/adapt/tensor"

// kernels returns the compute backend that runs the models' kernels: the
// one tensor.SetBackend selected, tensor.CPU by default. Model code calls
// kernels through it, one interface call per kernel, so a new backend
// needs no change here.
func kernels() tensor.Backend {
	return tensor.Current()
}
