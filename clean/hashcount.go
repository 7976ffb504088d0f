package clean

// hashCounter counts 64-bit hashes in an open-addressing table with linear
// probing. It replaces a Go map in the quality rules, where the keys are
// already hashes: reset is O(1) through a generation stamp, and the table
// is reused across documents. It is not safe for concurrent use.
type hashCounter struct {
	slots []hashSlot
	mask  uint64
	gen   uint32
	used  int
}

type hashSlot struct {
	key   uint64
	gen   uint32 // slot is in use when gen equals hashCounter.gen
	count int32
}

// reset empties the counter and makes room for at least n keys at a load
// of at most one half.
func (h *hashCounter) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if size > len(h.slots) {
		h.slots = make([]hashSlot, size)
		h.mask = uint64(size - 1)
		h.gen = 0
	}
	h.gen++
	if h.gen == 0 { // wrapped: old stamps could match again
		clear(h.slots)
		h.gen = 1
	}
	h.used = 0
}

// add increments the count of key and returns the new count. The caller
// must not add more keys than reset made room for.
func (h *hashCounter) add(key uint64) int32 {
	i := (key ^ key>>32) & h.mask
	for {
		s := &h.slots[i]
		if s.gen != h.gen {
			*s = hashSlot{key: key, gen: h.gen, count: 1}
			h.used++
			return 1
		}
		if s.key == key {
			s.count++
			return s.count
		}
		i = (i + 1) & h.mask
	}
}
