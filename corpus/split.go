package corpus

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// HeldOut reports whether the document with the given id belongs to the
// held-out split that keeps the given fraction of all ids. The choice depends
// only on id: the first 8 bytes of SHA-256(id), read as a big-endian uint64
// and divided by 2^64, give a number u in [0, 1), and the id is held out when
// u < fraction. Finetune and eval both call HeldOut, so they agree on the
// split without exchanging lists. A fraction of 0 or less holds out nothing,
// and 1 or more holds out everything.
func HeldOut(id string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	if fraction >= 1 {
		return true
	}

	sum := sha256.Sum256([]byte(id))
	u := float64(binary.BigEndian.Uint64(sum[:8])) / math.Exp2(64)
	return u < fraction
}
