package finetune

import (
	"math"
	"testing"
)

func TestScheduledLR(t *testing.T) {
	cases := []struct {
		name                string
		schedule            string
		step, total, warmup int
		want                float64
	}{
		{"cosine equals LearningRate", ScheduleCosine, 30, 100, 10, LearningRate(30, 100, 10, 1, 0.1)},
		{"empty means cosine", "", 30, 100, 10, LearningRate(30, 100, 10, 1, 0.1)},
		{"linear warm-up", ScheduleLinear, 4, 100, 10, 0.5},
		{"linear decay start", ScheduleLinear, 10, 100, 10, 1},
		{"linear at step 54", ScheduleLinear, 54, 100, 10, 1 - 0.9*44.0/89},
		{"linear last step", ScheduleLinear, 99, 100, 10, 0.1},
		{"linear past the end", ScheduleLinear, 120, 100, 10, 0.1},
		{"linear single step", ScheduleLinear, 0, 1, 0, 1},
		{"constant warm-up", ScheduleConstant, 1, 100, 4, 0.5},
		{"constant after warm-up", ScheduleConstant, 50, 100, 4, 1},
		{"constant last step", ScheduleConstant, 99, 100, 4, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ScheduledLR(tc.schedule, tc.step, tc.total, tc.warmup, 1, 0.1)
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("ScheduledLR(%q, %d, %d, %d): got %v, want %v", tc.schedule, tc.step, tc.total, tc.warmup, got, tc.want)
			}
		})
	}
}

// A linear schedule falls by the same amount every step.
func TestScheduledLRLinearIsStraight(t *testing.T) {
	const total, warmup = 20, 3
	prev := ScheduledLR(ScheduleLinear, warmup, total, warmup, 1, 0)
	wantDrop := 1.0 / float64(total-1-warmup)
	for step := warmup + 1; step < total; step++ {
		lr := ScheduledLR(ScheduleLinear, step, total, warmup, 1, 0)
		if math.Abs(prev-lr-wantDrop) > 1e-12 {
			t.Fatalf("step %d: drop %v, want %v", step, prev-lr, wantDrop)
		}
		prev = lr
	}
}

func TestConfigRejectsUnknownSchedule(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LRSchedule = "step"
	if err := cfg.Validate(); err == nil {
		t.Errorf("Validate accepted lr_schedule %q", cfg.LRSchedule)
	}
}
