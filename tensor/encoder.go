package tensor

import "fmt"

// EncoderForward adds token and position embeddings:
//
//	out[b,t,:] = wte[ids[b,t],:] + wpe[t,:]
//
// Shapes: out [B,T,C] (overwritten), ids [B,T], wte [V,C], wpe [maxT,C] with
// maxT >= T. It panics on an id outside [0, V). The kernel is memory-bound
// and serves as its own reference.
func EncoderForward(out []float32, ids []int32, wte, wpe []float32, B, T, C int) {
	checkLen("EncoderForward", "out", out, B*T*C)
	checkLen("EncoderForward", "wpe", wpe, T*C)
	V := len(wte) / C
	for i, id := range ids[:B*T] {
		if id < 0 || int(id) >= V {
			panic(fmt.Sprintf("tensor.EncoderForward: token id %d at position %d is outside the vocabulary [0,%d)", id, i, V))
		}
		t := i % T
		dst := out[i*C : (i+1)*C]
		tok := wte[int(id)*C : (int(id)+1)*C]
		pos := wpe[t*C : (t+1)*C]
		for c := range dst {
			dst[c] = tok[c] + pos[c]
		}
	}
}

// EncoderBackward differentiates EncoderForward, accumulating
//
//	dwte[ids[b,t],:] += dout[b,t,:]
//	dwpe[t,:]        += dout[b,t,:]
//
// Shapes: dwte [V,C], dwpe [maxT,C], dout [B,T,C], ids [B,T].
func EncoderBackward(dwte, dwpe, dout []float32, ids []int32, B, T, C int) {
	checkLen("EncoderBackward", "dout", dout, B*T*C)
	checkLen("EncoderBackward", "dwpe", dwpe, T*C)
	for i, id := range ids[:B*T] {
		t := i % T
		src := dout[i*C : (i+1)*C]
		tok := dwte[int(id)*C : (int(id)+1)*C]
		pos := dwpe[t*C : (t+1)*C]
		for c, d := range src {
			tok[c] += d
			pos[c] += d
		}
	}
}

// ResidualForward computes out = a + b elementwise over n elements
// (overwritten). The kernel is memory-bound and serves as its own reference.
func ResidualForward(out, a, b []float32, n int) {
	out, a, b = out[:n], a[:n], b[:n]
	for i := range out {
		out[i] = a[i] + b[i]
	}
}

// ResidualBackward differentiates ResidualForward: da += dout, db += dout
// over n elements.
func ResidualBackward(da, db, dout []float32, n int) {
	da, db, dout = da[:n], db[:n], dout[:n]
	for i, d := range dout {
		da[i] += d
		db[i] += d
	}
}
