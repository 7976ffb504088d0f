// Command torchcompare trains the same GPT-2 model on the same batch in adapt
// and in PyTorch, one after the other in one run. It prints tokens per
// second and peak memory of both, the matrix-product share of an adapt
// step, and the model FLOPs utilization (MFU) of both against the
// machine's measured float32 peak.
//
// For each model it writes the initial weights as a Hugging Face folder
// (model.GPT2.Save) and a batch of random token ids, then starts two child
// processes that load both: this program again with -worker, which trains
// with model.GPT2 and finetune.AdamW, and train_torch.py under Debian's
// python3-torch. Each child reports its own peak resident memory (VmHWM),
// so the two are measured apart. The first-step losses of the two must
// agree, which shows that both do the same work.
//
// Usage:
//
//	go build -o /tmp/torchcompare ./benchmarks/torchcompare
//	/tmp/torchcompare -models small,gpt2 -warmup 2 -steps 5
//
// Run it from the repository root, or pass -script. Results go to stdout as
// a Markdown table, progress to stderr. run.sh beside this file also builds
// a copy of the tree with wire-fused-kernels.patch applied, which makes
// model.GPT2 and finetune.AdamW call the fused kernels of package tensor,
// and runs both.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/adapt-llm/adapt/finetune"
	"github.com/adapt-llm/adapt/model"
	"github.com/adapt-llm/adapt/tensor"
)

// spec is one benchmarked model and batch.
type spec struct {
	name string
	cfg  model.GPT2Config
	B, T int
}

var specs = map[string]spec{
	// GPT-2 124M, the smallest released GPT-2.
	"gpt2": {"gpt2", model.GPT2Config{VocabSize: 50257, NPositions: 1024, NEmbd: 768, NLayer: 12, NHead: 12}, 4, 256},
	// A small model of the size adapt's base model trains at.
	"small": {"small", model.GPT2Config{VocabSize: 8192, NPositions: 256, NEmbd: 256, NLayer: 4, NHead: 4}, 8, 256},
}

// Optimizer settings shared by both frameworks.
const (
	learningRate = 1e-4
	weightDecay  = 0.1
)

// workerResult is the JSON line each child prints.
type workerResult struct {
	Framework       string    `json:"framework"`
	Threads         int       `json:"threads"`
	Losses          []float64 `json:"losses"`
	StepSeconds     []float64 `json:"step_seconds"`
	TokensPerSecond float64   `json:"tokens_per_second"`
	PeakRSSKiB      int64     `json:"peak_rss_kib"`
	// CPUSeconds is the user+system CPU time of the whole process over the
	// timed steps, which other processes on a loaded machine inflate less
	// than wall time.
	CPUSeconds float64 `json:"cpu_seconds"`

	// adapt only.
	GemmSeconds      float64 `json:"gemm_seconds,omitempty"`
	OptimizerSeconds float64 `json:"optimizer_seconds,omitempty"`
	BLAS             string  `json:"blas,omitempty"`
	// Kernel timings of one step at this model's sizes, current kernels
	// against the fused ones of package tensor that model.GPT2 and
	// finetune.AdamW do not call yet.
	Kernels *kernelTimes `json:"kernels,omitempty"`
}

// kernelTimes are seconds per training step.
type kernelTimes struct {
	CrossEntropy      float64 `json:"cross_entropy"`
	CrossEntropyFused float64 `json:"cross_entropy_fused"`
	Gelu              float64 `json:"gelu"`
	GeluFast          float64 `json:"gelu_fast"`
	AdamW             float64 `json:"adamw"`
	AdamWFused        float64 `json:"adamw_fused"`
}

// saved returns the step time the fused kernels would save.
func (k *kernelTimes) saved() float64 {
	return k.CrossEntropy - k.CrossEntropyFused + k.Gelu - k.GeluFast + k.AdamW - k.AdamWFused
}

type batchFile struct {
	B       int     `json:"B"`
	T       int     `json:"T"`
	IDs     []int32 `json:"ids"`
	Targets []int32 `json:"targets"`
}

func main() {
	models := flag.String("models", "small,gpt2", "comma-separated models to run: small, gpt2")
	warmup := flag.Int("warmup", 2, "untimed steps before the timed ones")
	steps := flag.Int("steps", 5, "timed optimizer steps per framework")
	threads := flag.Int("threads", 2, "threads per framework: GOMAXPROCS for adapt, torch.set_num_threads and OMP_NUM_THREADS for PyTorch")
	python := flag.String("python", "/usr/bin/python3", "Python interpreter with torch")
	script := flag.String("script", "benchmarks/torchcompare/train_torch.py", "path of train_torch.py")
	workDir := flag.String("work", "", "folder for weights and batches; empty means a new temporary folder, removed at exit")
	skipTorch := flag.Bool("skip-torch", false, "measure adapt only")
	adaptBLAS := flag.String("adapt-blas", "", "comma-separated ADAPT_BLAS values to train adapt with, one run each (go, openblas); empty means the default backend")
	peakSize := flag.Int("peak-size", 2048, "size n of the n x n x n sgemm that measures the float32 peak; 0 skips it")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of adapt's timed steps to this file prefix (one file per model)")
	worker := flag.Bool("worker", false, "internal: train in adapt and print one JSON line")
	modelDir := flag.String("model", "", "internal: model folder for -worker")
	batchPath := flag.String("batch", "", "internal: batch file for -worker")
	flag.Parse()
	log.SetFlags(0)

	if *worker {
		res, err := trainAdapt(*modelDir, *batchPath, *warmup, *steps, *cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
			log.Fatal(err)
		}
		return
	}

	if err := run(strings.Split(*models, ","), strings.Split(*adaptBLAS, ","), *warmup, *steps, *threads, *python, *script, *workDir, *skipTorch, *peakSize, *cpuProfile); err != nil {
		log.Fatal(err)
	}
}

func run(names, backends []string, warmup, steps, threads int, python, script, workDir string, skipTorch bool, peakSize int, cpuProfile string) error {
	if workDir == "" {
		dir, err := os.MkdirTemp("", "torchcompare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		workDir = dir
	}

	runtime.GOMAXPROCS(threads)
	peak := 0.0
	if peakSize > 0 {
		peak = measurePeak(peakSize, threads)
	}

	fmt.Printf("| model | framework | tokens/s | tokens per CPU-s | step s (median) | peak RSS MiB | first loss | MFU | matmul share |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range names {
		sp, ok := specs[name]
		if !ok {
			return fmt.Errorf("model %q is unknown, want small or gpt2", name)
		}
		dir := filepath.Join(workDir, sp.name)
		batch, err := prepare(sp, dir)
		if err != nil {
			return err
		}
		flopsPerToken := modelFLOPsPerToken(sp)

		// Each backend's run is compared with PyTorch.
		var adapts []workerResult
		for _, backend := range backends {
			var adapt workerResult
			prof := ""
			if cpuProfile != "" {
				prof = cpuProfile + "-" + sp.name + "-" + tensor.BLAS() + ".pprof"
				if backend != "" {
					prof = cpuProfile + "-" + sp.name + "-" + backend + ".pprof"
				}
			}
			log.Printf("%s: training in adapt (ADAPT_BLAS=%s)", sp.name, backend)
			self, err := os.Executable()
			if err != nil {
				return err
			}
			env := []string{"GOMAXPROCS=" + strconv.Itoa(threads)}
			if backend != "" {
				env = append(env, "ADAPT_BLAS="+backend)
			}
			adapt, err = runChild(exec.Command(self, "-worker", "-model", dir, "-batch", batch,
				"-warmup", strconv.Itoa(warmup), "-steps", strconv.Itoa(steps), "-cpuprofile", prof), env...)
			if err != nil {
				return fmt.Errorf("%s: adapt worker: %w", sp.name, err)
			}
			printRow(sp.name, adapt, flopsPerToken, peak)
			adapts = append(adapts, adapt)
			if k := adapt.Kernels; k != nil {
				log.Printf("%s: kernel seconds per step, separate -> fused kernels (the model calls the fused ones): cross-entropy %.3f -> %.3f, GELU %.3f -> %.3f, AdamW %.3f -> %.3f; fusing saves %.3f s against a %.3f s step",
					sp.name, k.CrossEntropy, k.CrossEntropyFused, k.Gelu, k.GeluFast, k.AdamW, k.AdamWFused, k.saved(), median(adapt.StepSeconds))
			}
		}

		if skipTorch {
			continue
		}
		log.Printf("%s: training in PyTorch", sp.name)
		torch, err := runChild(exec.Command(python, script, "--model", dir, "--batch", batch,
			"--warmup", strconv.Itoa(warmup), "--steps", strconv.Itoa(steps), "--threads", strconv.Itoa(threads),
			"--lr", fmt.Sprint(learningRate), "--weight-decay", fmt.Sprint(weightDecay)),
			"OMP_NUM_THREADS="+strconv.Itoa(threads), "OMP_WAIT_POLICY=PASSIVE", "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads))
		if err != nil {
			return fmt.Errorf("%s: PyTorch worker: %w", sp.name, err)
		}
		printRow(sp.name, torch, flopsPerToken, peak)
		for _, adapt := range adapts {
			log.Printf("%s: adapt (%s)/PyTorch tokens/s = %.2f, peak RSS adapt/PyTorch = %.2f, first loss adapt %.6f PyTorch %.6f (relative difference %.1e)",
				sp.name, adapt.BLAS, adapt.TokensPerSecond/torch.TokensPerSecond, float64(adapt.PeakRSSKiB)/float64(torch.PeakRSSKiB),
				adapt.Losses[0], torch.Losses[0], math.Abs(adapt.Losses[0]-torch.Losses[0])/torch.Losses[0])
			last := len(adapt.Losses) - 1
			if last < len(torch.Losses) {
				log.Printf("%s: loss after %d steps: adapt (%s) %.6f PyTorch %.6f", sp.name, last+1, adapt.BLAS, adapt.Losses[last], torch.Losses[last])
			}
		}
	}
	return nil
}

// prepare writes the initial weights to dir and a batch file beside them,
// returning the batch file's path.
func prepare(sp spec, dir string) (string, error) {
	m := model.NewGPT2(sp.cfg, 1)
	if err := m.Save(dir); err != nil {
		return "", err
	}

	// Random ids; the targets are the next ids, so the batch reads as
	// next-token prediction over B rows of T+1 tokens.
	r := rand.New(rand.NewPCG(2, 3))
	b := batchFile{B: sp.B, T: sp.T}
	for row := 0; row < sp.B; row++ {
		seq := make([]int32, sp.T+1)
		for i := range seq {
			seq[i] = int32(r.IntN(sp.cfg.VocabSize))
		}
		b.IDs = append(b.IDs, seq[:sp.T]...)
		b.Targets = append(b.Targets, seq[1:]...)
	}
	js, err := json.Marshal(b)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "batch.json")
	return path, os.WriteFile(path, js, 0o644)
}

// runChild runs cmd with extra environment variables and decodes the last
// line of its stdout.
func runChild(cmd *exec.Cmd, env ...string) (workerResult, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return workerResult{}, err
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res workerResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return workerResult{}, fmt.Errorf("decoding the result line %q: %w", lines[len(lines)-1], err)
	}
	return res, nil
}

// modelFLOPsPerToken returns the FLOPs of one training token as the PaLM
// paper (Chowdhery et al. 2022, appendix B) counts them: 6 per weight that
// multiplies activations (every parameter but the position table, the
// tied wte counted once as the output projection) plus 12*L*T*C for the
// attention scores and their weighted sums.
func modelFLOPsPerToken(sp spec) float64 {
	c := sp.cfg
	C, L, V := float64(c.NEmbd), float64(c.NLayer), float64(c.VocabSize)
	perLayer := 12*C*C + 13*C // c_attn, attn c_proj, c_fc, mlp c_proj weights and biases, two LayerNorms
	weights := V*C + L*perLayer + 2*C
	return 6*weights + 12*L*float64(sp.T)*C
}

// measurePeak returns the best of five n x n x n tensor.Gemm products in
// FLOP/s, on GOMAXPROCS threads.
func measurePeak(n, threads int) float64 {
	r := rand.New(rand.NewPCG(4, 5))
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	saved := tensor.BLAS()
	defer tensor.SetBLAS(saved)
	peak := 0.0
	for _, backend := range []string{"go", "openblas"} {
		if err := tensor.SetBLAS(backend); err != nil {
			log.Printf("float32 peak: skipping %s: %v", backend, err)
			continue
		}
		best := math.Inf(1)
		for i := 0; i < 5; i++ {
			start := time.Now()
			tensor.Gemm(false, false, n, n, n, a, n, b, n, c, n, false)
			best = min(best, time.Since(start).Seconds())
		}
		flops := 2 * math.Pow(float64(n), 3) / best
		log.Printf("float32 peak: %.1f GFLOP/s on %s (best of 5 sgemm %d^3, %d threads)", flops/1e9, backend, n, threads)
		peak = max(peak, flops)
	}
	log.Printf("float32 peak: %.1f GFLOP/s, the best of the backends, is the MFU denominator", peak/1e9)
	return peak
}

func printRow(name string, res workerResult, flopsPerToken, peak float64) {
	mfu, share := "n/a", ""
	if peak > 0 {
		mfu = fmt.Sprintf("%.1f%%", 100*res.TokensPerSecond*flopsPerToken/peak)
	}
	var total float64
	for _, s := range res.StepSeconds {
		total += s
	}
	if res.GemmSeconds > 0 {
		share = fmt.Sprintf("%.0f%% (optimizer %.0f%%)", 100*res.GemmSeconds/total, 100*res.OptimizerSeconds/total)
	}
	framework := res.Framework
	if res.BLAS != "" {
		framework += " (" + res.BLAS + ")"
	}
	perCPU := res.TokensPerSecond * total / res.CPUSeconds
	fmt.Printf("| %s | %s | %.0f | %.0f | %.3f | %.0f | %.6f | %s | %s |\n", name, framework, res.TokensPerSecond, perCPU,
		median(res.StepSeconds), float64(res.PeakRSSKiB)/1024, res.Losses[0], mfu, share)
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// trainAdapt is the -worker side: it loads the model and batch, trains
// warmup+steps AdamW steps with finetune.AdamW and returns the timings.
func trainAdapt(dir, batchPath string, warmup, steps int, cpuProfile string) (workerResult, error) {
	m, err := model.LoadGPT2(dir)
	if err != nil {
		return workerResult{}, err
	}
	js, err := os.ReadFile(batchPath)
	if err != nil {
		return workerResult{}, err
	}
	var b batchFile
	if err := json.Unmarshal(js, &b); err != nil {
		return workerResult{}, fmt.Errorf("decoding %s: %w", batchPath, err)
	}

	params := finetune.ParamTensors(m.Parameters())
	opt := finetune.NewAdamW(params, 0.9, 0.95, 1e-8, weightDecay)
	res := workerResult{Framework: "adapt", Threads: runtime.GOMAXPROCS(0), BLAS: tensor.BLAS() + ", " + tensor.GemmKernel()}
	var gemmStart tensor.GemmStats
	var cpuStart float64
	for step := 0; step < warmup+steps; step++ {
		if step == warmup {
			gemmStart = tensor.GemmTotals()
			cpuStart = cpuSeconds()
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return workerResult{}, err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return workerResult{}, err
				}
				defer pprof.StopCPUProfile()
			}
		}
		start := time.Now()
		m.ZeroGrad()
		loss := m.ForwardBackward(b.IDs, b.Targets, b.B, b.T)
		optStart := time.Now()
		opt.Update(learningRate)
		elapsed := time.Since(start).Seconds()
		res.Losses = append(res.Losses, float64(loss))
		if step >= warmup {
			res.StepSeconds = append(res.StepSeconds, elapsed)
			res.OptimizerSeconds += time.Since(optStart).Seconds()
		}
	}
	pprof.StopCPUProfile()
	res.CPUSeconds = cpuSeconds() - cpuStart

	var total float64
	for _, s := range res.StepSeconds {
		total += s
	}
	res.TokensPerSecond = float64(b.B*b.T*len(res.StepSeconds)) / total
	res.GemmSeconds = (tensor.GemmTotals().Elapsed - gemmStart.Elapsed).Seconds()
	res.PeakRSSKiB = peakRSSKiB()

	// The kernel comparison allocates buffers of its own, so it runs after
	// VmHWM is read.
	res.Kernels = timeKernels(m.Config, b, params, opt)
	return res, nil
}

// timeKernels times, at the sizes of one training step, the cross-entropy,
// GELU and AdamW kernels that the step calls against the fused kernels of
// package tensor. Each is the best of three runs.
func timeKernels(cfg model.GPT2Config, b batchFile, params []finetune.Tensor, opt *finetune.AdamW) *kernelTimes {
	N, V, H := b.B*b.T, cfg.VocabSize, 4*cfg.NEmbd*b.B*b.T
	best := func(f func()) float64 {
		t := math.Inf(1)
		for i := 0; i < 3; i++ {
			start := time.Now()
			f()
			t = min(t, time.Since(start).Seconds())
		}
		return t
	}
	var k kernelTimes

	r := rand.New(rand.NewPCG(6, 7))
	logits, work := make([]float32, N*V), make([]float32, N*V)
	for i := range logits {
		logits[i] = float32(r.NormFloat64())
	}
	losses := make([]float32, N)
	k.CrossEntropy = best(func() {
		tensor.CrossEntropyForward(losses, work, logits, b.Targets, N, V)
		tensor.CrossEntropyBackward(work, work, b.Targets, 1/float32(N), N, V)
	})
	k.CrossEntropyFused = best(func() {
		tensor.CrossEntropyForwardBackward(losses, work, logits, b.Targets, 1/float32(N), N, V)
	})
	logits, work = nil, nil

	// One forward and one backward per layer.
	x, y, d := make([]float32, H), make([]float32, H), make([]float32, H)
	for i := range x {
		x[i], d[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	L := float64(cfg.NLayer)
	k.Gelu = L * best(func() {
		tensor.GeluForward(y, x, H)
		tensor.GeluBackward(y, x, d, H)
	})
	k.GeluFast = L * best(func() {
		tensor.GeluForwardFast(y, x, H)
		tensor.GeluBackwardFast(y, x, d, H)
	})

	k.AdamW = best(func() { opt.Update(learningRate) })
	mom, vel := opt.Moments()
	k.AdamWFused = best(func() {
		for i, p := range params {
			decay := 1.0
			if len(p.Shape) >= 2 {
				decay = 1 - learningRate*weightDecay
			}
			tensor.AdamWUpdate(p.Data, p.Grad, mom[i], vel[i], tensor.AdamWStep{LR: learningRate, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, Decay: decay, Step: opt.Step()})
		}
	})
	return &k
}

// cpuSeconds returns the user and system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSSKiB returns VmHWM from /proc/self/status, or 0 where it is missing.
func peakRSSKiB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}
