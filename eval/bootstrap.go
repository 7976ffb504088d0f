package eval

import (
	"math"
	"math/rand/v2"
	"slices"
)

// PerplexityMetricNames are the keys of a perplexity result's Metrics.
var PerplexityMetricNames = []string{"perplexity", "nll_per_token", "tokens"}

// perplexityMetrics returns "perplexity" = exp(ΣNLL / Σtokens),
// "nll_per_token" = ΣNLL / Σtokens (nats) and "tokens" = Σtokens over
// examples. With no scored tokens, perplexity and nll_per_token are NaN.
func perplexityMetrics(examples []Example) map[string]float64 {
	var nll float64
	var tokens int
	for _, ex := range examples {
		nll += ex.NLL
		tokens += ex.Tokens
	}
	perToken := nll / float64(tokens)
	return map[string]float64{
		"perplexity":    math.Exp(perToken),
		"nll_per_token": perToken,
		"tokens":        float64(tokens),
	}
}

// bootstrapCI95 returns the percentile bootstrap 95% interval (Efron and
// Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13) of
// perplexity and nll_per_token: it resamples whole examples with
// replacement, samples times, and takes the 2.5th and 97.5th percentiles of
// the recomputed metrics. Resampling documents rather than tokens keeps the
// correlation between tokens of one document. It returns nil when there are
// fewer than two examples or samples < 1.
func bootstrapCI95(examples []Example, samples int, seed int64) map[string][2]float64 {
	if len(examples) < 2 || samples < 1 {
		return nil
	}

	rng := rand.New(rand.NewPCG(uint64(seed), 0x626f6f74)) // "boot"
	perToken := make([]float64, 0, samples)
	for range samples {
		var nll float64
		var tokens int
		for range examples {
			ex := examples[rng.IntN(len(examples))]
			nll += ex.NLL
			tokens += ex.Tokens
		}
		if tokens > 0 {
			perToken = append(perToken, nll/float64(tokens))
		}
	}
	if len(perToken) == 0 {
		return nil
	}

	slices.Sort(perToken)
	lo, hi := percentile(perToken, 0.025), percentile(perToken, 0.975)
	return map[string][2]float64{
		"nll_per_token": {lo, hi},
		"perplexity":    {math.Exp(lo), math.Exp(hi)},
	}
}

// percentile returns the q-quantile of sorted values by linear interpolation
// between closest ranks (NumPy's default "linear" method).
func percentile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(i)
	return sorted[i]*(1-frac) + sorted[i+1]*frac
}
