package iterate

import "errors"

var (
	// ErrNoRuns is returned by Latest when the workspace has no run records.
	ErrNoRuns = errors.New("iterate: no run records in workspace")

	// ErrRunNotFound is returned by Load when <ws>/runs/<id>/run.json does
	// not exist.
	ErrRunNotFound = errors.New("iterate: run record not found")

	// ErrInvalidRunID is returned by Load when the id is empty or is not a
	// single path element (it contains a separator or is "." or "..").
	ErrInvalidRunID = errors.New("iterate: invalid run id")

	// ErrMetricNotFound is returned by CheckGates when a gate names a
	// metric, or a relative_to metric, that the checked run does not have.
	ErrMetricNotFound = errors.New("iterate: gated metric not found")

	// ErrStaleMetric is returned by CheckGates when a gate reads a metric
	// whose eval result was scored on older weights than the workspace's
	// current fine-tuned model (see Run.Stale).
	ErrStaleMetric = errors.New("iterate: gated metric is stale")
)
