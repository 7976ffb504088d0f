package neardup

import (
	"fmt"
	"math"
)

// Defaults that Config applies to its zero fields.
const (
	// DefaultThreshold is the target Jaccard similarity of shingle sets
	// from which two documents count as near-duplicates.
	DefaultThreshold = 0.8
	// DefaultNumPerm is the number of MinHash permutations. With 128 the
	// standard deviation of a Jaccard estimate is at most 0.5/sqrt(128),
	// about 0.044.
	DefaultNumPerm = 128
	// DefaultShingleSize is the shingle length: 5 words for space-separated
	// scripts, 5 characters for Chinese and Japanese.
	DefaultShingleSize = 5
)

// Limits that Config.Validate enforces.
const (
	// MaxNumPerm bounds the signature length, which is 8 bytes per
	// permutation per document in memory and in signature files.
	MaxNumPerm = 1024
	// MaxShingleSize bounds the shingle length in words or characters.
	MaxShingleSize = 64
)

// Config sets near-duplicate detection. The zero value of each numeric
// field means its default, so Config{Enabled: true} is a working setup.
type Config struct {
	// Enabled turns near-duplicate removal on in the clean stage. The
	// functions of this package ignore it.
	Enabled bool `yaml:"enabled" json:"enabled"`

	// Threshold is the target Jaccard similarity in (0, 1]. Documents whose
	// estimated similarity reaches it are near-duplicates. Zero means
	// DefaultThreshold (0.8).
	Threshold float64 `yaml:"threshold" json:"threshold"`

	// NumPerm is the number of MinHash permutations, the signature length,
	// in [1, MaxNumPerm]. Zero means DefaultNumPerm (128).
	NumPerm int `yaml:"num_perm" json:"num_perm"`

	// ShingleSize is the shingle length in words for space-separated
	// scripts and in characters for Chinese and Japanese, in [1,
	// MaxShingleSize]. Zero means DefaultShingleSize (5).
	ShingleSize int `yaml:"shingle_size" json:"shingle_size"`

	// SkipVerify merges every pair of documents that share an LSH bucket,
	// without checking that their estimated Jaccard similarity reaches
	// Threshold. It is faster and merges more false positives. False (the
	// zero value) verifies.
	SkipVerify bool `yaml:"skip_verify" json:"skip_verify"`
}

// DefaultConfig returns the near-dedup settings the clean stage uses when
// the user sets nothing: enabled, with every default.
func DefaultConfig() Config {
	return Config{Enabled: true, Threshold: DefaultThreshold, NumPerm: DefaultNumPerm, ShingleSize: DefaultShingleSize}
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.NumPerm == 0 {
		c.NumPerm = DefaultNumPerm
	}
	if c.ShingleSize == 0 {
		c.ShingleSize = DefaultShingleSize
	}
	return c
}

// Validate returns an error wrapping ErrInvalidConfig that names the first
// field out of range. Zero fields are valid because they mean the default.
func (c Config) Validate() error {
	if c.Threshold < 0 || c.Threshold > 1 || math.IsNaN(c.Threshold) {
		return invalid("threshold", "%g is outside (0, 1]; use 0 for the default %g", c.Threshold, DefaultThreshold)
	}
	if c.NumPerm < 0 || c.NumPerm > MaxNumPerm {
		return invalid("num_perm", "%d is outside [1, %d]; use 0 for the default %d", c.NumPerm, MaxNumPerm, DefaultNumPerm)
	}
	if c.ShingleSize < 0 || c.ShingleSize > MaxShingleSize {
		return invalid("shingle_size", "%d is outside [1, %d]; use 0 for the default %d", c.ShingleSize, MaxShingleSize, DefaultShingleSize)
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: near_dedup.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}
