package neardup

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Record is one document's signature with its place in the input. It is
// also the row layout of signature files.
type Record struct {
	// ID is the document ID (corpus.Document.ID).
	ID string `parquet:"id"`
	// Shard names the input shard, for example its file name. Shards sort
	// by this name, so name them in input order.
	Shard string `parquet:"shard"`
	// Row is the document's 0-based row in its shard.
	Row int64 `parquet:"row"`
	// Signature is the MinHash signature, NumPerm values, or empty for a
	// text with nothing to shingle.
	Signature Signature `parquet:"signature,list"`
}

// Decision is the near-dedup outcome for one document.
type Decision struct {
	ID    string
	Shard string
	Row   int64
	// Cluster is the ID of the cluster's survivor, the document's own ID
	// when it is kept.
	Cluster string
	// Removed is true for every member of a cluster except its survivor.
	Removed bool
	// Similarity is the estimated Jaccard similarity of the document's
	// signature to the survivor's, in [0, 1]. It is 1 for a survivor.
	// Because clusters are transitive, a removed document can be below
	// the threshold here while it reached it with another member.
	Similarity float64
}

// Decisions holds one Decision per document, sorted by shard name, then row.
type Decisions []Decision

// Removed returns the number of removed documents.
func (d Decisions) Removed() int {
	n := 0
	for i := range d {
		if d[i].Removed {
			n++
		}
	}
	return n
}

// Find returns the decision for shard and row, and false when there is
// none.
func (d Decisions) Find(shard string, row int64) (Decision, bool) {
	i, ok := slices.BinarySearchFunc(d, Decision{Shard: shard, Row: row}, compareDecisions)
	if !ok {
		return Decision{}, false
	}
	return d[i], true
}

func compareDecisions(x, y Decision) int {
	return cmp.Or(cmp.Compare(x.Shard, y.Shard), cmp.Compare(x.Row, y.Row))
}

// Cluster groups near-duplicate records and returns one decision per
// record. It sorts records in place by shard name, then row, which is the
// input order that decides survivors.
//
// Two records are linked when they share an LSH bucket in any band (see
// OptimalBands) and, unless cfg.SkipVerify, their estimated Jaccard
// similarity reaches cfg.Threshold. Clusters are the connected components of
// the links (union-find), so similarity is taken as transitive: A~B and B~C
// put A and C together even when A and C differ more. Each cluster keeps its
// first record in input order and removes the rest; Decision.Cluster is the
// survivor's ID. Records with an empty signature are always kept alone.
//
// Cluster returns an error wrapping ErrDuplicateRow when two records have
// the same shard and row, and ErrParamsMismatch when a signature's length is
// not cfg.NumPerm.
func Cluster(cfg Config, records []Record) (Decisions, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	bands, rows := OptimalBands(cfg.Threshold, cfg.NumPerm)

	slices.SortFunc(records, func(x, y Record) int {
		return cmp.Or(cmp.Compare(x.Shard, y.Shard), cmp.Compare(x.Row, y.Row))
	})
	for i := range records {
		if i > 0 && records[i].Shard == records[i-1].Shard && records[i].Row == records[i-1].Row {
			return nil, fmt.Errorf("%w: shard %q row %d appears twice", ErrDuplicateRow, records[i].Shard, records[i].Row)
		}
		if n := len(records[i].Signature); n != 0 && n != cfg.NumPerm {
			return nil, fmt.Errorf("%w: shard %q row %d has a signature of %d values, expected num_perm %d", ErrParamsMismatch, records[i].Shard, records[i].Row, n, cfg.NumPerm)
		}
	}

	if len(records) > math.MaxInt32 {
		return nil, fmt.Errorf("clustering %d signatures: more than %d are not supported", len(records), math.MaxInt32)
	}

	uf := newUnionFind(len(records))
	copies := linkIdentical(records, uf)
	linkBands(records, uf, copies, bands, rows, cfg)

	// The survivor of a component is its lowest index, which union keeps
	// as the root.
	out := make(Decisions, len(records))
	for i, rec := range records {
		root := uf.find(int32(i))
		d := Decision{ID: rec.ID, Shard: rec.Shard, Row: rec.Row, Cluster: records[root].ID, Removed: int(root) != i, Similarity: 1}
		if d.Removed {
			d.Similarity = Jaccard(rec.Signature, records[root].Signature)
		}
		out[i] = d
	}
	return out, nil
}

// bucketEntry places one record in one band's bucket.
type bucketEntry struct {
	key uint64
	doc int32
}

// linkIdentical unions records with identical non-empty signatures and
// returns which records are copies of an earlier one. Copies are linked by
// every band anyway, but linking them here lets linkBands skip them, so a
// large group of copies costs no comparison per pair.
func linkIdentical(records []Record, uf *unionFind) (copies []bool) {
	copies = make([]bool, len(records))
	entries := make([]bucketEntry, 0, len(records))
	for i, rec := range records {
		if len(rec.Signature) > 0 {
			entries = append(entries, bucketEntry{key: signatureKey(rec.Signature), doc: int32(i)})
		}
	}
	sortEntries(entries)
	for start := 0; start < len(entries); {
		end := start + 1
		for end < len(entries) && entries[end].key == entries[start].key {
			end++
		}
		first := entries[start].doc
		for _, e := range entries[start+1 : end] {
			if slices.Equal(records[e.doc].Signature, records[first].Signature) {
				uf.union(first, e.doc)
				copies[e.doc] = true
			}
		}
		start = end
	}
	return copies
}

// linkBands unions the records that share a bucket in some band and, unless
// cfg.SkipVerify, reach the threshold. It handles one band at a time, so
// the extra memory is 16 bytes per record.
func linkBands(records []Record, uf *unionFind, copies []bool, bands, rows int, cfg Config) {
	entries := make([]bucketEntry, 0, len(records))
	for band := range bands {
		entries = entries[:0]
		for i, rec := range records {
			if len(rec.Signature) > 0 && !copies[i] {
				entries = append(entries, bucketEntry{key: bandKey(rec.Signature, band, rows), doc: int32(i)})
			}
		}
		sortEntries(entries)

		for start := 0; start < len(entries); {
			end := start + 1
			for end < len(entries) && entries[end].key == entries[start].key {
				end++
			}
			linkBucket(records, uf, entries[start:end], cfg)
			start = end
		}
	}
}

// linkBucket links the records of one bucket, given in input order. Each
// pair already in one component is skipped without comparing signatures.
//
// NOTE: a bucket of k records in different components costs up to k*(k-1)/2
// signature comparisons. Identical copies are merged beforehand, but a huge
// bucket of distinct templated pages stays quadratic.
func linkBucket(records []Record, uf *unionFind, bucket []bucketEntry, cfg Config) {
	for j := 1; j < len(bucket); j++ {
		dj := bucket[j].doc
		for _, ei := range bucket[:j] {
			di := ei.doc
			if uf.find(di) == uf.find(dj) {
				continue
			}
			if cfg.SkipVerify || Jaccard(records[di].Signature, records[dj].Signature) >= cfg.Threshold {
				uf.union(di, dj)
			}
		}
	}
}

// sortEntries sorts by key, then record index, so buckets list records in
// input order.
func sortEntries(entries []bucketEntry) {
	slices.SortFunc(entries, func(x, y bucketEntry) int {
		return cmp.Or(cmp.Compare(x.key, y.key), cmp.Compare(x.doc, y.doc))
	})
}

// signatureKey hashes a whole signature.
func signatureKey(sig Signature) uint64 {
	h := uint64(fnvOffset64)
	for _, v := range sig {
		h = mix64(h ^ v)
	}
	return h
}

// unionFind is a disjoint-set forest over record indexes with path halving.
// union makes the lower index the root, so every root is the lowest index
// of its set.
type unionFind struct{ parent []int32 }

func newUnionFind(n int) *unionFind {
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	return &unionFind{parent: parent}
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) union(x, y int32) {
	rx, ry := u.find(x), u.find(y)
	if rx == ry {
		return
	}
	if ry < rx {
		rx, ry = ry, rx
	}
	u.parent[ry] = rx
}
