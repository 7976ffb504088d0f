package finetune

// Reasons recorded in TrainResult.StopReason and Metrics.StopReason.
const (
	// StopCompleted means every planned step ran.
	StopCompleted = "completed"
	// StopTimeLimit means TrainOptions.StopAt ended training.
	StopTimeLimit = "time_limit"
	// StopEarly means the validation loss stopped improving for
	// Config.EarlyStopPatience validation passes.
	StopEarly = "early_stopping"
)

// earlyStopper tracks validation losses for early stopping as Keras'
// EarlyStopping callback does with monitor val_loss and mode min. A loss
// counts as an improvement when it is below the best so far by more than
// minDelta. Training stops after patience passes in a row without one.
type earlyStopper struct {
	patience int
	minDelta float64
	best     float64
	since    int // validation passes since the best
	seen     bool
}

// observe records one validation loss and reports whether training should
// stop.
func (e *earlyStopper) observe(loss float64) bool {
	if !e.seen || loss < e.best-e.minDelta {
		e.best, e.since, e.seen = loss, 0, true
		return false
	}
	e.since++
	return e.patience > 0 && e.since >= e.patience
}

// replay rebuilds the state from the validation curve of a resumed run, so
// that early stopping needs no checkpoint state of its own.
func (e *earlyStopper) replay(val []LossPoint) {
	for _, p := range val {
		e.observe(p.Loss)
	}
}
