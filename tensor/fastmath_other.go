//go:build !amd64 || purego

package tensor

const hasExpfAVX2 = false

func expfAVX2(dst, src *float32, n int, shift float32) float32 {
	panic("tensor: expfAVX2 is only built on amd64")
}

func geluForwardAVX2(out, inp *float32, n int) {
	panic("tensor: geluForwardAVX2 is only built on amd64")
}

func geluBackwardAVX2(dinp, inp, dout *float32, n int) {
	panic("tensor: geluBackwardAVX2 is only built on amd64")
}

// setExpfAVX2 does nothing here: there are no assembly loops to turn on.
func setExpfAVX2(bool) {}

func maxAVX2(x *float32, n int) float32 {
	panic("tensor: maxAVX2 is only built on amd64")
}

func scaleAVX2(x *float32, n int, s float32) {
	panic("tensor: scaleAVX2 is only built on amd64")
}

func addToAVX2(dst, src *float32, n int) {
	panic("tensor: addToAVX2 is only built on amd64")
}

func layerNormParamGradAVX2(dweight, dbias, x, dout *float32, n int, mean, rstd float32) {
	panic("tensor: layerNormParamGradAVX2 is only built on amd64")
}

func swigluForwardAVX2(out, gate, up *float32, n int) {
	panic("tensor: swigluForwardAVX2 is only built on amd64")
}

func swigluBackwardAVX2(dgate, dup, gate, up, dout *float32, n int) {
	panic("tensor: swigluBackwardAVX2 is only built on amd64")
}
