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

// Learning-rate schedules that Config.LRSchedule names.
const (
	ScheduleCosine   = "cosine"
	ScheduleLinear   = "linear"
	ScheduleConstant = "constant"
)

// ScheduledLR returns the learning rate of optimizer step (0-based) under
// the named schedule. Every schedule warms up linearly over the first warmup
// steps as LearningRate does. After warm-up, "cosine" (and "") is
// LearningRate, "linear" falls in a straight line from peak to peak·minRatio
// at the last step, as transformers' get_linear_schedule_with_warmup does
// when minRatio is 0, and "constant" stays at peak. It panics on another
// name; Config.Validate rejects those first.
//
//	linear:  peak − (peak − min)·p,   p = (step − warmup) / (total − 1 − warmup)
func ScheduledLR(schedule string, step, total, warmup int, peak, minRatio float64) float64 {
	switch schedule {
	case "", ScheduleCosine:
		return LearningRate(step, total, warmup, peak, minRatio)
	case ScheduleConstant:
		if step < warmup {
			return peak * float64(step+1) / float64(warmup)
		}
		return peak
	case ScheduleLinear:
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
		return peak - (peak-minLR)*progress
	}
	panic("finetune.ScheduledLR: unknown schedule " + schedule)
}

func validSchedule(name string) bool {
	switch name {
	case "", ScheduleCosine, ScheduleLinear, ScheduleConstant:
		return true
	}
	return false
}
