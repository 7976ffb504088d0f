package tensor

// CPU is the "cpu" backend: each method calls the package-level kernel of
// the same name, which runs on the Go scheduler's threads, with matrix
// products going to OpenBLAS when it is loaded (see BLAS). Other backends
// embed CPU to inherit the kernels they do not implement.
type CPU struct{}

var _ Backend = CPU{}

// Name returns "cpu".
func (CPU) Name() string { return DefaultBackend }

func (CPU) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	Gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

func (CPU) MatmulForward(out, inp, weight, bias []float32, N, C, OC int) {
	MatmulForward(out, inp, weight, bias, N, C, OC)
}

func (CPU) MatmulBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	MatmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC)
}

func (CPU) LinearForward(out, inp, weight, bias []float32, N, C, OC int) {
	LinearForward(out, inp, weight, bias, N, C, OC)
}

func (CPU) LinearBackward(dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	LinearBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC)
}

func (CPU) EncoderForward(out []float32, ids []int32, wte, wpe []float32, B, T, C int) {
	EncoderForward(out, ids, wte, wpe, B, T, C)
}

func (CPU) EncoderBackward(dwte, dwpe, dout []float32, ids []int32, B, T, C int) {
	EncoderBackward(dwte, dwpe, dout, ids, B, T, C)
}

func (CPU) ResidualForward(out, a, b []float32, n int) { ResidualForward(out, a, b, n) }

func (CPU) LayerNormForward(out, mean, rstd, inp, weight, bias []float32, N, C int, eps float32) {
	LayerNormForward(out, mean, rstd, inp, weight, bias, N, C, eps)
}

func (CPU) LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	LayerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C)
}

func (CPU) RMSNormForward(out, rstd, inp, weight []float32, N, C int, eps float32) {
	RMSNormForward(out, rstd, inp, weight, N, C, eps)
}

func (CPU) RMSNormBackward(dinp, dweight, dout, inp, weight, rstd []float32, N, C int) {
	RMSNormBackward(dinp, dweight, dout, inp, weight, rstd, N, C)
}

func (CPU) AttentionForward(out, att, qkv []float32, B, T, C, NH int) {
	AttentionForward(out, att, qkv, B, T, C, NH)
}

func (CPU) AttentionBackward(dqkv, datt, dout, qkv, att []float32, B, T, C, NH int) {
	AttentionBackward(dqkv, datt, dout, qkv, att, B, T, C, NH)
}

func (CPU) AttentionGQAForward(out, att, qkv []float32, B, T, NH, NKV, HS int) {
	AttentionGQAForward(out, att, qkv, B, T, NH, NKV, HS)
}

func (CPU) AttentionGQABackward(dqkv, datt, dout, qkv, att []float32, B, T, NH, NKV, HS int) {
	AttentionGQABackward(dqkv, datt, dout, qkv, att, B, T, NH, NKV, HS)
}

func (CPU) RoPEForward(x []float32, ld int, cos, sin []float32, B, T, nHeads, HS int) {
	RoPEForward(x, ld, cos, sin, B, T, nHeads, HS)
}

func (CPU) RoPEBackward(dx []float32, ld int, cos, sin []float32, B, T, nHeads, HS int) {
	RoPEBackward(dx, ld, cos, sin, B, T, nHeads, HS)
}

func (CPU) GeluForward(out, inp []float32, n int) { GeluForward(out, inp, n) }

func (CPU) GeluBackward(dinp, inp, dout []float32, n int) { GeluBackward(dinp, inp, dout, n) }

func (CPU) GeluForwardFast(out, inp []float32, n int) { GeluForwardFast(out, inp, n) }

func (CPU) GeluBackwardFast(dinp, inp, dout []float32, n int) { GeluBackwardFast(dinp, inp, dout, n) }

func (CPU) SwiGLUForward(out, inp []float32, N, I int) { SwiGLUForward(out, inp, N, I) }

func (CPU) SwiGLUBackward(dinp, dout, inp []float32, N, I int) { SwiGLUBackward(dinp, dout, inp, N, I) }

func (CPU) CrossEntropyForward(losses, probs, logits []float32, targets []int32, N, V int) {
	CrossEntropyForward(losses, probs, logits, targets, N, V)
}

func (CPU) CrossEntropyBackward(dlogits, probs []float32, targets []int32, dloss float32, N, V int) {
	CrossEntropyBackward(dlogits, probs, targets, dloss, N, V)
}

func (CPU) CrossEntropyForwardBackward(losses, dlogits, logits []float32, targets []int32, dloss float32, N, V int) {
	CrossEntropyForwardBackward(losses, dlogits, logits, targets, dloss, N, V)
}

func (CPU) AdamWUpdate(data, grad, m, v []float32, s AdamWStep) { AdamWUpdate(data, grad, m, v, s) }
