package neardup

import "math"

// Weights of the two error areas that OptimalBands minimizes. Equal weights
// are datasketch's defaults (MinHashLSH, weights=(0.5, 0.5)).
const (
	falsePositiveWeight = 0.5
	falseNegativeWeight = 0.5
)

// simpsonIntervals is the number of intervals of the composite Simpson rule
// that integrates the S-curve. The integrand is a polynomial of degree r*b;
// 512 intervals keep the area error far below the differences between
// neighboring (b, r) choices at num_perm up to MaxNumPerm.
const simpsonIntervals = 512

// OptimalBands returns the number of bands b and rows per band r, with
// b*r <= numPerm, that minimize the weighted sum of the false positive area
//
//	FP(b, r) = integral from 0 to t of 1-(1-s^r)^b ds
//
// and the false negative area
//
//	FN(b, r) = integral from t to 1 of (1-s^r)^b ds
//
// under the S-curve of banding, where t is the threshold. This is the
// criterion of datasketch's MinHashLSH (ekzhu/datasketch, lsh.py,
// _optimal_param), computed here with Simpson's rule. Ties keep the smaller
// b, then the smaller r. OptimalBands panics when threshold is outside
// (0, 1] or numPerm < 1.
func OptimalBands(threshold float64, numPerm int) (bands, rows int) {
	if !(threshold > 0 && threshold <= 1) || numPerm < 1 {
		panic("neardup: OptimalBands needs threshold in (0, 1] and numPerm >= 1")
	}

	best := math.Inf(1)
	for b := 1; b <= numPerm; b++ {
		for r := 1; r <= numPerm/b; r++ {
			fp, fn := bandingErrors(threshold, b, r)
			if e := falsePositiveWeight*fp + falseNegativeWeight*fn; e < best {
				best, bands, rows = e, b, r
			}
		}
	}
	return bands, rows
}

// bandingErrors returns the false positive and false negative areas of
// banding with b bands of r rows at threshold t.
func bandingErrors(t float64, b, r int) (fp, fn float64) {
	candidate := func(s float64) float64 { return 1 - math.Pow(1-math.Pow(s, float64(r)), float64(b)) }
	missed := func(s float64) float64 { return math.Pow(1-math.Pow(s, float64(r)), float64(b)) }
	return simpson(candidate, 0, t), simpson(missed, t, 1)
}

// simpson integrates f over [lo, hi] with the composite Simpson rule.
func simpson(f func(float64) float64, lo, hi float64) float64 {
	if hi <= lo {
		return 0
	}
	h := (hi - lo) / simpsonIntervals
	sum := f(lo) + f(hi)
	for i := 1; i < simpsonIntervals; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * f(lo+float64(i)*h)
	}
	return sum * h / 3
}

// CandidateProbability returns 1-(1-s^r)^b, the probability that two
// documents with Jaccard similarity s share at least one of b buckets of r
// rows each.
func CandidateProbability(s float64, bands, rows int) float64 {
	return 1 - math.Pow(1-math.Pow(s, float64(rows)), float64(bands))
}

// bandKey hashes rows [band*rows, (band+1)*rows) of sig into a bucket key.
// The band index is mixed in, so keys of different bands never need
// separate tables to stay apart.
func bandKey(sig Signature, band, rows int) uint64 {
	h := mix64(uint64(band) + fnvOffset64)
	for _, v := range sig[band*rows : (band+1)*rows] {
		h = mix64(h ^ v)
	}
	return h
}
