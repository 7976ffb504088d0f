// Package neardup finds near-duplicate documents with MinHash and
// locality-sensitive hashing (LSH), for the clean stage.
//
// A document's signature is its MinHash (A. Z. Broder, "On the resemblance
// and containment of documents", Compression and Complexity of Sequences,
// 1997): for each of NumPerm hash functions h_i, the minimum of h_i over the
// document's shingle hashes. Two signatures agree at a position with
// probability equal to the Jaccard similarity of the two shingle sets, so the
// fraction of equal positions estimates it. The h_i are the universal family
// h_i(x) = (a_i*x + b_i) mod p with the Mersenne prime p = 2^61-1 (Carter and
// Wegman 1979).
//
// Candidate pairs come from LSH banding (J. Leskovec, A. Rajaraman,
// J. D. Ullman, "Mining of Massive Datasets", 3rd ed., chapter 3.4): the
// signature is cut into b bands of r rows, and documents that agree on every
// row of at least one band share a bucket. A pair with similarity s becomes a
// candidate with probability 1-(1-s^r)^b. OptimalBands chooses b and r for a
// threshold.
//
// Two ways to use it:
//
//   - Index decides document by document in input order, for a single
//     streaming pass such as clean.Run: a document is a near-duplicate when it
//     is similar to a document kept before it.
//   - Signatures, WriteSignatures and Merge work across shards processed
//     separately: each shard's signatures go to a Parquet file, and Merge
//     reads them all and returns one decision per document from clusters
//     built by union-find. Memory grows with the number of documents (8 bytes
//     per permutation each), not with their text.
package neardup

import (
	"fmt"
	"math/bits"
	"strings"
	"sync"
)

// mersenne61 is the prime 2^61-1, the modulus of the permutation family.
const mersenne61 = 1<<61 - 1

// hashSeed seeds the permutation coefficients. Changing it, or anything in
// shingling or hashing, changes every signature, so it is recorded in
// signature files as hashVersion.
const hashSeed = 0x5eed_a0a7_2026_0001

// hashVersion names the shingling and hashing scheme in signature files.
// Merge rejects files written with another scheme.
const hashVersion = "fnv1a64-splitmix64-mod61-v1"

// Signature is a MinHash signature: NumPerm values in [0, 2^61-1). Nil is
// the signature of a text with nothing to shingle (empty or only
// whitespace), which matches no other signature.
type Signature []uint64

// Hasher computes signatures. It is safe for concurrent use.
type Hasher struct {
	cfg  Config   // with defaults applied
	a, b []uint64 // permutation coefficients, NumPerm each
	pool sync.Pool
}

// NewHasher returns a Hasher for cfg, with defaults for zero fields. It
// returns an error wrapping ErrInvalidConfig when cfg is out of range.
func NewHasher(cfg Config) (*Hasher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h := &Hasher{cfg: cfg, a: make([]uint64, cfg.NumPerm), b: make([]uint64, cfg.NumPerm)}

	// Coefficients from a SplitMix64 stream: a_i in [1, p), b_i in [0, p).
	state := uint64(hashSeed)
	next := func() uint64 {
		state += 0x9e3779b97f4a7c15
		return mix64(state)
	}
	for i := range h.a {
		h.a[i] = 1 + next()%(mersenne61-1)
		h.b[i] = next() % mersenne61
	}
	h.pool.New = func() any { return new([]uint64) }
	return h, nil
}

// Config returns the configuration h uses, with defaults applied.
func (h *Hasher) Config() Config { return h.cfg }

// Signature returns the MinHash signature of text, NumPerm values long, or
// nil when text has nothing to shingle. A text shorter than one shingle is
// hashed as a single shingle, so short texts match only texts with the same
// tokens.
func (h *Hasher) Signature(text string) Signature {
	buf := h.pool.Get().(*[]uint64)
	defer h.pool.Put(buf)

	tokens := tokenize(*buf, text)
	*buf = tokens
	sig := make(Signature, len(h.a))
	for i := range sig {
		sig[i] = mersenne61
	}
	if !forEachShingle(tokens, h.cfg.ShingleSize, func(x uint64) { h.update(sig, x) }) {
		if strings.TrimSpace(text) == "" {
			return nil
		}
		h.update(sig, wholeTextHash(text))
	}
	return sig
}

// update lowers sig to the permuted values of the shingle hash x:
// sig[i] = min(sig[i], (a[i]*x + b[i]) mod p).
func (h *Hasher) update(sig Signature, x uint64) {
	x >>= 3 // 61 bits, at most p, which the reduction accepts
	a, b := h.a, h.b[:len(h.a)]
	sig = sig[:len(a)]
	for i, ai := range a {
		v := mulAddMod61(ai, x, b[i])
		if v < sig[i] {
			sig[i] = v
		}
	}
}

// mulAddMod61 returns (a*x + b) mod 2^61-1 for a, x, b <= 2^61-1. It uses
// 2^61 = 1 (mod p): the 122-bit product splits into its low 61 bits and
// the rest, which add up to the same residue.
func mulAddMod61(a, x, b uint64) uint64 {
	hi, lo := bits.Mul64(a, x)
	s := (lo & mersenne61) + (hi<<3 | lo>>61) + b // < 3*2^61
	s = (s & mersenne61) + (s >> 61)
	if s >= mersenne61 {
		s -= mersenne61
	}
	return s
}

// Jaccard returns the MinHash estimate of the Jaccard similarity of the
// shingle sets behind x and y: the fraction of positions where they agree.
// Its standard deviation is sqrt(J(1-J)/NumPerm). A nil signature has
// similarity 0 with everything, itself included, and so does an empty one. Jaccard panics when both
// are non-nil and their lengths differ.
func Jaccard(x, y Signature) float64 {
	if len(x) == 0 || len(y) == 0 {
		return 0
	}
	if len(x) != len(y) {
		panic(fmt.Sprintf("neardup: Jaccard of signatures of lengths %d and %d", len(x), len(y)))
	}
	equal := 0
	for i := range x {
		if x[i] == y[i] {
			equal++
		}
	}
	return float64(equal) / float64(len(x))
}
