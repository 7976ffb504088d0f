package eval

import "fmt"

// Config holds the evaluation settings shared by every model and task set.
type Config struct {
	// ContextLength is the window length in tokens of strided perplexity,
	// at most each model's n_positions. Zero means each model's n_positions.
	ContextLength int `yaml:"context_length" json:"context_length"`
	// Stride is the number of tokens between window starts, in
	// [1, ContextLength]. Zero means half the context length.
	Stride int `yaml:"stride" json:"stride"`
	// BootstrapSamples is the number of resamples of the 95% confidence
	// intervals. Zero means 1000; a negative value turns intervals off.
	BootstrapSamples int `yaml:"bootstrap_samples" json:"bootstrap_samples"`
	// Seed seeds the bootstrap. Zero is a valid seed.
	Seed int64 `yaml:"seed" json:"seed"`
	// PrependEOT puts the model's end-of-text token before each document,
	// as training puts it between packed documents, so the first token of
	// a document is scored too. When false the first token is context only.
	PrependEOT bool `yaml:"prepend_eot" json:"prepend_eot"`
}

const defaultBootstrapSamples = 1000

// DefaultConfig returns the settings adapt uses when adapt.yaml sets none.
func DefaultConfig() Config {
	return Config{BootstrapSamples: defaultBootstrapSamples, Seed: 1, PrependEOT: true}
}

// Validate reports the first setting outside its valid range, wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	if c.ContextLength < 0 {
		return fmt.Errorf("%w: context_length is %d, must be >= 0", ErrInvalidConfig, c.ContextLength)
	}
	if c.Stride < 0 {
		return fmt.Errorf("%w: stride is %d, must be >= 0", ErrInvalidConfig, c.Stride)
	}
	if c.ContextLength > 0 && c.Stride > c.ContextLength {
		return fmt.Errorf("%w: stride %d is larger than context_length %d", ErrInvalidConfig, c.Stride, c.ContextLength)
	}
	return nil
}

// windowing returns the context length and stride for a model with
// nPositions positions.
func (c Config) windowing(nPositions int) (maxLength, stride int, err error) {
	if nPositions <= 0 {
		return 0, 0, fmt.Errorf("%w: the model config has n_positions %d, must be positive", ErrBadModel, nPositions)
	}
	maxLength = c.ContextLength
	if maxLength == 0 {
		maxLength = nPositions
	}
	if maxLength > nPositions {
		return 0, 0, fmt.Errorf("%w: context_length %d is larger than the model's %d positions", ErrInvalidConfig, maxLength, nPositions)
	}
	stride = c.Stride
	if stride == 0 {
		stride = max(maxLength/2, 1)
	}
	if stride > maxLength {
		return 0, 0, fmt.Errorf("%w: stride %d is larger than context length %d", ErrInvalidConfig, stride, maxLength)
	}
	return maxLength, stride, nil
}
