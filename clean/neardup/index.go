package neardup

import "slices"

// Index finds near-duplicates in one streaming pass. Each added document is
// compared with the documents kept before it. It is a near-duplicate when
// one of them shares an LSH bucket with it and, unless Config.SkipVerify,
// reaches the threshold. Only kept documents enter the index, so its memory
// is one signature per kept document plus its bucket entries.
//
// Unlike Cluster, an Index never revisits a decision, so similarity is not
// transitive: when B is removed as a copy of A, a later C that is similar
// to B but not to A is kept. Over the same documents in the same order,
// Index therefore removes at most as many as Cluster. An Index is not safe
// for concurrent use.
type Index struct {
	hasher  *Hasher
	bands   int
	rows    int
	buckets map[uint64][]int32 // band key to positions in kept
	kept    []keptDoc
}

type keptDoc struct {
	id  string
	sig Signature
}

// Match is the outcome of Index.Add for a near-duplicate.
type Match struct {
	// Cluster is the ID of the kept document it duplicates.
	Cluster string
	// Similarity is the estimated Jaccard similarity to that document.
	Similarity float64
}

// NewIndex returns an empty Index for cfg, with defaults for zero fields.
// It returns an error wrapping ErrInvalidConfig when cfg is out of range.
func NewIndex(cfg Config) (*Index, error) {
	h, err := NewHasher(cfg)
	if err != nil {
		return nil, err
	}
	cfg = h.Config()
	bands, rows := OptimalBands(cfg.Threshold, cfg.NumPerm)
	return &Index{hasher: h, bands: bands, rows: rows, buckets: map[uint64][]int32{}}, nil
}

// Bands returns the number of LSH bands and rows per band in use.
func (ix *Index) Bands() (bands, rows int) { return ix.bands, ix.rows }

// Add decides on the document id with text. When text is a near-duplicate
// of a kept document, Add returns the match with the earliest-added such
// document and true, and does not keep text. Otherwise it keeps the
// document and returns false. Empty text is kept and never matches.
func (ix *Index) Add(id, text string) (Match, bool) {
	sig := ix.hasher.Signature(text)
	if sig == nil {
		return Match{}, false
	}
	cfg := ix.hasher.cfg

	// Candidates from every band, checked in the order they were kept.
	keys := make([]uint64, ix.bands)
	var candidates []int32
	for band := range ix.bands {
		keys[band] = bandKey(sig, band, ix.rows)
		candidates = append(candidates, ix.buckets[keys[band]]...)
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	for _, c := range candidates {
		s := Jaccard(sig, ix.kept[c].sig)
		if cfg.SkipVerify || s >= cfg.Threshold {
			return Match{Cluster: ix.kept[c].id, Similarity: s}, true
		}
	}

	// Keep it.
	pos := int32(len(ix.kept))
	ix.kept = append(ix.kept, keptDoc{id: id, sig: sig})
	for _, key := range keys {
		ix.buckets[key] = append(ix.buckets[key], pos)
	}
	return Match{}, false
}
