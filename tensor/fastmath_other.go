//go:build !amd64 || purego

package tensor

const hasExpfAVX2 = false

func expfAVX2(dst, src *float32, n int, shift float32) float32 {
	panic("tensor: expfAVX2 is only built on amd64")
}
