// Package openblas loads OpenBLAS's cblas_sgemm at run time with dlopen, so
// that one adapt binary runs on machines with and without the library. It
// is a package of its own because Go does not build cgo and Go assembly
// into one package, and package tensor has an assembly micro-kernel.
//
// Builds without cgo get a Load that always returns an error.
package openblas

// Libraries are the sonames Load tries, in order. Debian's
// libopenblas0-pthread and libopenblas0-openmp both provide the first.
var Libraries = []string{"libopenblas.so.0", "libopenblas.so"}
