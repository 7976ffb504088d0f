package tensor

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// countingBackend runs on the CPU and counts Gemm calls, as a device
// backend that overrides one kernel would.
type countingBackend struct {
	CPU
	name  string
	gemms int
}

func (b *countingBackend) Name() string { return b.name }

func (b *countingBackend) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, bm []float32, ldb int, c []float32, ldc int, accumulate bool) {
	b.gemms++
	b.CPU.Gemm(transA, transB, m, n, k, a, lda, bm, ldb, c, ldc, accumulate)
}

// restoreBackend puts the default backend back and removes name from the
// registry after the test.
func restoreBackend(t *testing.T, name string) {
	t.Cleanup(func() {
		if err := SetBackend(DefaultBackend); err != nil {
			t.Errorf("restoring the cpu backend: %v", err)
		}
		backendsMu.Lock()
		delete(backends, name)
		backendsMu.Unlock()
	})
}

func TestBackendDefaultIsCPU(t *testing.T) {
	if got := Current().Name(); got != "cpu" {
		t.Errorf("Current().Name() = %q, want %q", got, "cpu")
	}
	if got, want := Backends(), []string{"cpu"}; !slices.Equal(got, want) {
		t.Errorf("Backends() = %v, want %v", got, want)
	}
}

func TestRegisterAndSetBackend(t *testing.T) {
	b := &countingBackend{name: "counting"}
	RegisterBackend(b)
	restoreBackend(t, b.name)

	if got, want := Backends(), []string{"counting", "cpu"}; !slices.Equal(got, want) {
		t.Errorf("Backends() = %v, want %v", got, want)
	}
	if err := SetBackend("counting"); err != nil {
		t.Fatal(err)
	}
	if got := Current().Name(); got != "counting" {
		t.Errorf("Current().Name() = %q, want %q", got, "counting")
	}

	// A call through Current reaches the override, and the result equals
	// the CPU kernel's: [1 2; 3 4] @ [5; 6] = [17; 39].
	c := make([]float32, 2)
	Current().Gemm(false, false, 2, 1, 2, []float32{1, 2, 3, 4}, 2, []float32{5, 6}, 1, c, 1, false)
	if b.gemms != 1 {
		t.Errorf("override saw %d Gemm calls, want 1", b.gemms)
	}
	if want := []float32{17, 39}; !slices.Equal(c, want) {
		t.Errorf("C = %v, want %v", c, want)
	}
}

func TestSetBackendUnknown(t *testing.T) {
	cases := []struct {
		name     string
		contains string
	}{
		{"cuda", "no CUDA backend"},
		{"tpu", "available: [cpu]"},
		{"", "available: [cpu]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := SetBackend(c.name)
			if !errors.Is(err, ErrUnknownBackend) {
				t.Fatalf("SetBackend(%q) = %v, want an error wrapping ErrUnknownBackend", c.name, err)
			}
			if !strings.Contains(err.Error(), c.contains) {
				t.Errorf("error %q does not contain %q", err, c.contains)
			}
			if got := Current().Name(); got != "cpu" {
				t.Errorf("after the failed call Current().Name() = %q, want %q", got, "cpu")
			}
		})
	}
}

func TestRegisterBackendPanics(t *testing.T) {
	cases := []struct {
		name    string
		backend Backend
	}{
		{"duplicate name", CPU{}},
		{"empty name", &countingBackend{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterBackend(%q) did not panic", c.backend.Name())
				}
			}()
			RegisterBackend(c.backend)
		})
	}
}

// BenchmarkBackendDispatch measures what routing a kernel through
// Current() adds to a direct call, on a kernel small enough that the
// difference would show: a 64-element ResidualForward.
func BenchmarkBackendDispatch(b *testing.B) {
	x, y, out := make([]float32, 64), make([]float32, 64), make([]float32, 64)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			ResidualForward(out, x, y, 64)
		}
	})
	b.Run("backend", func(b *testing.B) {
		for b.Loop() {
			Current().ResidualForward(out, x, y, 64)
		}
	})
}
