package finetune

import "math"

// LearningRate returns the learning rate for optimizer step (0-based) of a
// run of total steps: linear warm-up over the first warmup steps to peak,
// then cosine decay from peak to peak·minRatio at the last step, as in
// nanoGPT's get_lr. Steps at or past total get peak·minRatio.
//
//	warm-up (step < warmup):  peak · (step+1) / warmup
//	decay:                    min + ½(1 + cos(π·p))·(peak − min),
//	                          p = (step − warmup) / (total − 1 − warmup)
func LearningRate(step, total, warmup int, peak, minRatio float64) float64 {
	minLR := peak * minRatio
	if step < warmup {
		return peak * float64(step+1) / float64(warmup)
	}
	decaySteps := total - 1 - warmup
	if decaySteps <= 0 {
		if step >= total {
			return minLR
		}
		return peak
	}
	if step >= total-1 {
		return minLR
	}
	progress := float64(step-warmup) / float64(decaySteps)
	return minLR + 0.5*(1+math.Cos(math.Pi*progress))*(peak-minLR)
}
