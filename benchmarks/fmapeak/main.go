// Command fmapeak measures the float32 FMA throughput of one core with
// loops that touch no memory: twelve independent multiply-adds per
// iteration, on 8-lane (AVX2) and 16-lane (AVX-512) registers. The result
// is the ceiling that a matrix-product kernel on this core can approach.
//
// Usage: go run ./benchmarks/fmapeak
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if !supported {
		fmt.Fprintln(os.Stderr, "fmapeak: needs an amd64 CPU with AVX2, FMA and AVX-512F")
		os.Exit(1)
	}
	const n = 200_000_000
	for i := 0; i < 3; i++ {
		start := time.Now()
		fmaLoop256(n)
		d := time.Since(start).Seconds()
		fmt.Printf("8 lanes:  %.1f GFLOP/s per core (%.2f GHz at two FMAs per cycle)\n", n*12*16/d/1e9, n*12/2/d/1e9)
		start = time.Now()
		fmaLoop512(n)
		d = time.Since(start).Seconds()
		fmt.Printf("16 lanes: %.1f GFLOP/s per core\n", n*12*32/d/1e9)
	}
}
