package finetune

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Model is the part of a causal language model that the training loop
// calls. *model.GPT2 implements it.
type Model interface {
	// ForwardBackward runs the model on ids [B,T], accumulates into the
	// parameters' gradients the gradient of the mean cross-entropy over
	// targets [B,T] that are not the ignore index (-100), and returns that
	// mean.
	ForwardBackward(ids, targets []int32, B, T int) float32
	// Loss returns the same mean cross-entropy without touching gradients.
	Loss(ids, targets []int32, B, T int) float32
	// ZeroGrad sets every gradient to zero.
	ZeroGrad()
}

// TrainOptions configures Train.
type TrainOptions struct {
	// Config holds the hyperparameters. SeqLen must equal Train.SeqLen.
	Config Config
	// Params are the model's trainable parameters, aliasing its weights
	// and gradients.
	Params []Tensor
	// Train and Val are the packed splits. Val may be nil or empty.
	Train, Val *Packed
	// Replay is the packed general-domain split that supplies
	// Config.Replay.Fraction of the training sequences. Nil means none,
	// whatever the fraction.
	Replay *Packed
	// CheckpointDir is the folder for checkpoints. Empty means none are
	// written or resumed from.
	CheckpointDir string
	// Fingerprint identifies the data, base model and settings. A
	// checkpoint with another fingerprint is not resumed from.
	Fingerprint string
	Logger      *slog.Logger
	// Progress, when set, is called after each optimizer step with the
	// number of steps done and the total.
	Progress func(step, total int)
	// StopAt, when not zero, is the time by which training should end.
	// After each step the total is cut to the steps that fit before StopAt
	// at the mean step time so far, so the cosine schedule still reaches
	// its minimum. A step that finishes after StopAt ends training anyway.
	// Runs with StopAt are not reproducible, because the step count depends
	// on the machine's speed.
	StopAt time.Time
}

// TrainResult is the outcome of one Train call: step counts and loss curves.
type TrainResult struct {
	// Steps is the number of optimizer steps of the whole run, including
	// steps done before a resume.
	Steps int
	// ResumedFrom is the step of the checkpoint the run resumed from, or 0.
	ResumedFrom int
	// StoppedAt is the step after which StopAt or early stopping ended
	// training, or 0 when all Steps ran. PlannedSteps is the step count
	// before StopAt cut it.
	StoppedAt    int
	PlannedSteps int
	// StopReason is StopCompleted, StopTimeLimit or StopEarly.
	StopReason string
	// TokensPerStep is BatchSize x SeqLen x GradAccum, padding included.
	TokensPerStep int
	// EpochsDone is the number of passes over the training split that the
	// Steps optimizer steps made (fractions allowed); replay sequences do
	// not count.
	EpochsDone float64
	// TokensSeen is the number of real (not padding) target tokens in the
	// batches of all Steps, replay included.
	TokensSeen int64
	// ValTokensPerPass is the number of real target tokens that one
	// validation pass scores. It is zero without a validation split.
	ValTokensPerPass int64
	Train, Val       []LossPoint
	// Elapsed is the wall time of the training loop, summed over resumes.
	Elapsed time.Duration
}

// TotalSteps returns the number of optimizer steps for a split of n
// sequences. A positive MaxSteps wins over Epochs, as max_steps overrides
// num_train_epochs in Hugging Face transformers' Trainer (v4), and the data
// repeats with a new order each epoch for as long as those steps take.
// Otherwise it is the steps that Epochs passes take (one pass when Epochs
// is zero). It is at least 1.
func TotalSteps(cfg Config, n int) int {
	cfg = cfg.withDefaults()
	if cfg.MaxSteps > 0 {
		return cfg.MaxSteps
	}

	// Replay takes its fraction of each step's sequences, so an epoch of
	// the training split takes more steps.
	perStep := float64(cfg.BatchSize*cfg.GradAccum) * (1 - cfg.Replay.Fraction)
	epochs := cfg.Epochs
	if epochs == 0 {
		epochs = 1
	}
	return max(int(math.Ceil(epochs*float64(n)/perStep)), 1)
}

// epochsDone returns the passes over a training split of n sequences that
// the first steps optimizer steps made, counting only domain sequences.
func epochsDone(cfg Config, n, steps int) float64 {
	cfg = cfg.withDefaults()
	slots := int64(steps) * int64(cfg.GradAccum) * int64(cfg.BatchSize)
	domain := slots - replayCount(cfg.Replay.Fraction, slots)
	return float64(domain) / float64(n)
}

// scoredTokens returns the number of targets that are not ignoreIndex, so
// the real tokens of a batch without the padding of a last sequence.
func scoredTokens(targets []int32) int64 {
	var n int64
	for _, t := range targets {
		if t != ignoreIndex {
			n++
		}
	}
	return n
}

// Train runs the training loop: for each optimizer step it accumulates the
// gradients of GradAccum micro-batches of BatchSize sequences, averages
// them, clips them to GradClip, sets the scheduled learning rate and takes
// an AdamW step. It validates every EvalEvery steps and after the last one,
// and writes a checkpoint every CheckpointEvery steps. When CheckpointDir
// holds a checkpoint with the same fingerprint, Train first restores the
// weights, optimizer moments and step from the newest one, so an
// interrupted run continues where it stopped and ends with the same weights
// as an uninterrupted one.
//
// Sequences are visited in a per-epoch order that depends only on Seed and
// the epoch, so the data position is a function of the step and needs no
// state of its own. When ctx is cancelled, Train finishes the current step,
// writes a checkpoint of it (if checkpoints are on and none exists for that
// step) and returns ctx.Err(), wrapped.
func Train(ctx context.Context, m Model, opts TrainOptions) (*TrainResult, error) {
	cfg := opts.Config.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Train == nil || opts.Train.Len() == 0 {
		return nil, fmt.Errorf("%w: the training split has no sequences", ErrNoData)
	}
	if cfg.SeqLen != opts.Train.SeqLen {
		panic(fmt.Sprintf("finetune: Config.SeqLen %d != Train.SeqLen %d", cfg.SeqLen, opts.Train.SeqLen))
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	B, T := cfg.BatchSize, cfg.SeqLen
	total := TotalSteps(cfg, opts.Train.Len())
	res := &TrainResult{Steps: total, PlannedSteps: total, TokensPerStep: B * T * cfg.GradAccum, StopReason: StopCompleted}
	opt := NewAdamW(opts.Params, cfg.AdamBeta1, cfg.AdamBeta2, cfg.AdamEps, cfg.WeightDecay)

	// Resume from the newest matching checkpoint.
	if opts.CheckpointDir != "" {
		state, err := loadLatestCheckpoint(opts.CheckpointDir, opts.Fingerprint, opts.Params, opt)
		if err != nil {
			return nil, err
		}
		if state != nil {
			res.ResumedFrom = state.Step
			res.Train, res.Val = state.Train, state.Val
			res.Elapsed = time.Duration(state.ElapsedSeconds * float64(time.Second))
			if len(state.Train) > 0 {
				res.TokensSeen = state.Train[len(state.Train)-1].Tokens
			}
			logger.Info("resumed from checkpoint", "dir", opts.CheckpointDir, "step", state.Step, "total_steps", total)
		}
	}

	batch := newMixBatcher(opts.Train, opts.Replay, B, cfg.Seed, cfg.Replay.Fraction)
	early := &earlyStopper{patience: cfg.EarlyStopPatience, minDelta: cfg.EarlyStopMinDelta}
	early.replay(res.Val)
	start := time.Now()
	elapsedBefore := res.Elapsed
	firstStep := opt.Step()
	lastCheckpoint := firstStep
	for step := firstStep; step < total; step++ {
		if !opts.StopAt.IsZero() && step-firstStep >= minTimedSteps {
			total = fitSteps(step-firstStep, res.PlannedSteps, step, time.Since(start), time.Until(opts.StopAt))
			res.Steps = total
		}
		if err := ctx.Err(); err != nil {
			if step > lastCheckpoint && opts.CheckpointDir != "" && cfg.CheckpointEvery > 0 {
				state := checkpointState{Step: step, Fingerprint: opts.Fingerprint, Train: res.Train, Val: res.Val, ElapsedSeconds: res.Elapsed.Seconds()}
				if err := saveCheckpoint(opts.CheckpointDir, state, opts.Params, opt, cfg.KeepCheckpoints); err != nil {
					return nil, err
				}
				logger.Info("wrote checkpoint on interruption", "dir", opts.CheckpointDir, "step", step)
			}
			return nil, fmt.Errorf("training stopped after step %d of %d: %w", step, total, err)
		}

		// Accumulate the mean gradient of GradAccum micro-batches.
		m.ZeroGrad()
		var loss float64
		for micro := range cfg.GradAccum {
			ids, targets := batch.at(int64(step*cfg.GradAccum + micro))
			res.TokensSeen += scoredTokens(targets)
			loss += float64(m.ForwardBackward(ids, targets, B, T))
		}
		loss /= float64(cfg.GradAccum)
		if cfg.GradAccum > 1 {
			ScaleGrads(opts.Params, 1/float64(cfg.GradAccum))
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("training diverged at step %d: loss is %v; lower learning_rate", step+1, loss)
		}

		// Clip, schedule and update.
		norm := ClipGradNorm(opts.Params, cfg.GradClip)
		lr := ScheduledLR(cfg.LRSchedule, step, total, cfg.WarmupSteps, cfg.LearningRate, cfg.MinLRRatio)
		opt.Update(lr)

		done := step + 1
		stopping := !opts.StopAt.IsZero() && !time.Now().Before(opts.StopAt) && done < total
		if stopping {
			res.StoppedAt, res.Steps, res.StopReason = done, done, StopTimeLimit
		}
		tokens := res.TokensSeen
		res.Train = append(res.Train, LossPoint{Step: done, Loss: loss, LR: lr, Tokens: tokens})
		logger.Debug("step", "step", done, "loss", loss, "lr", lr, "grad_norm", norm)

		if done == total || stopping || (cfg.EvalEvery > 0 && done%cfg.EvalEvery == 0) {
			if val, scored, ok := evaluate(m, opts.Val, B, cfg.EvalBatches); ok {
				res.ValTokensPerPass = scored
				res.Val = append(res.Val, LossPoint{Step: done, Loss: val, Tokens: tokens})
				logger.Info("validation", "step", done, "total_steps", total, "train_loss", loss, "val_loss", val)
				if early.observe(val) && done < total && !stopping {
					stopping = true
					res.StoppedAt, res.Steps, res.StopReason = done, done, StopEarly
					logger.Info("stopping early", "step", done, "best_val_loss", early.best, "evaluations_without_improvement", early.since)
				}
			}
		}
		res.Elapsed = elapsedBefore + time.Since(start)
		if opts.CheckpointDir != "" && cfg.CheckpointEvery > 0 && done%cfg.CheckpointEvery == 0 && done < total {
			state := checkpointState{Step: done, Fingerprint: opts.Fingerprint, Train: res.Train, Val: res.Val, ElapsedSeconds: res.Elapsed.Seconds()}
			if err := saveCheckpoint(opts.CheckpointDir, state, opts.Params, opt, cfg.KeepCheckpoints); err != nil {
				return nil, err
			}
			logger.Info("wrote checkpoint", "dir", opts.CheckpointDir, "step", done)
			lastCheckpoint = done
		}
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
		if stopping {
			if res.StopReason == StopTimeLimit {
				logger.Info("stopped at the time limit", "step", done, "total_steps", total)
			}
			break
		}
	}
	res.EpochsDone = epochsDone(cfg, opts.Train.Len(), res.Steps)
	return res, nil
}

// minTimedSteps is the number of steps timed before StopAt may change the
// step count, so that one slow first step does not decide it.
const minTimedSteps = 5

// fitSteps returns the step count that ends in time: timed steps took
// elapsed, the next step is step (0-based) and remaining time is left. The
// remaining steps are assumed to take the mean time of the timed ones. The
// result lies in [step+1, planned], so it can grow back when steps speed up.
func fitSteps(timed, planned, step int, elapsed, remaining time.Duration) int {
	perStep := elapsed / time.Duration(timed)
	if perStep <= 0 {
		return planned
	}
	fit := step + int(remaining/perStep)
	return max(min(fit, planned), step+1)
}

// evaluate returns the mean cross-entropy over the scored targets of the
// first maxBatches batches of val (all of them when maxBatches is 0) and
// the number of those targets, and false when val has no sequences.
func evaluate(m Model, val *Packed, B, maxBatches int) (float64, int64, bool) {
	if val == nil || val.Len() == 0 {
		return 0, 0, false
	}
	T := val.SeqLen
	var sum float64
	var count int
	for b, start := 0, 0; start < val.Len() && (maxBatches == 0 || b < maxBatches); b, start = b+1, start+B {
		n := min(B, val.Len()-start)
		ids := val.Inputs[start*T : (start+n)*T]
		targets := val.Targets[start*T : (start+n)*T]
		scored := 0
		for _, t := range targets {
			if t != ignoreIndex {
				scored++
			}
		}
		if scored == 0 {
			continue
		}
		sum += float64(m.Loss(ids, targets, n, T)) * float64(scored)
		count += scored
	}
	if count == 0 {
		return 0, 0, false
	}
	return sum / float64(count), int64(count), true
}
