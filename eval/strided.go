package eval

import (
	"fmt"
	"math"
)

// Window is one forward pass of strided perplexity: the token span
// [Begin, End) of the sequence that the model saw, how many of its tokens
// were scored and their summed negative log-likelihood in nats.
type Window struct {
	Begin  int     `json:"begin"`
	End    int     `json:"end"`
	Scored int     `json:"scored_tokens"`
	NLL    float64 `json:"nll_sum"`
}

// LogitsFunc returns the next-token logits of a causal language model for
// one sequence: ids has length T and the result is [T, V] row-major, row t
// holding the logits of the token after ids[t].
type LogitsFunc func(ids []int32) []float32

// StridedNLL scores ids with the sliding-window method of Hugging Face's
// "Perplexity of fixed-length models" guide (transformers 4.x docs).
// Windows of up to maxLength tokens start every stride tokens, and each window
// scores only the tokens after the end of the previous window, with at
// least maxLength−stride tokens of context once the sequence is long enough.
// The first token of a window has no context in it and is never scored, so
// with stride < maxLength every token but the first is scored exactly once,
// while stride == maxLength skips the first token of every window, as the
// reference does. Log-softmax is computed in float64. The last window ends
// at len(ids).
//
// It returns the windows in order, the total NLL (nats) and the number of
// scored tokens. It panics if maxLength < 1, stride < 1 or stride > maxLength,
// or if logits returns a slice whose length is not a multiple of the window
// length.
func StridedNLL(ids []int32, maxLength, stride int, logits LogitsFunc) (windows []Window, nll float64, scored int) {
	if maxLength < 1 || stride < 1 || stride > maxLength {
		panic(fmt.Sprintf("eval: StridedNLL needs 1 <= stride <= maxLength, got maxLength %d, stride %d", maxLength, stride))
	}
	if len(ids) < 2 {
		return nil, 0, 0
	}

	prevEnd := 0
	for begin := 0; begin < len(ids); begin += stride {
		end := min(begin+maxLength, len(ids))
		window := ids[begin:end]
		T := len(window)
		out := logits(window)
		if len(out) == 0 || len(out)%T != 0 {
			panic(fmt.Sprintf("eval: logits for a window of %d tokens has length %d, not a multiple of %d", T, len(out), T))
		}
		V := len(out) / T

		// Positions j of the window whose token is scored: the last
		// end−prevEnd tokens, except position 0, which has no context.
		w := Window{Begin: begin, End: end}
		first := max(T-(end-prevEnd), 1)
		for j := first; j < T; j++ {
			w.NLL -= logSoftmaxAt(out[(j-1)*V:j*V], window[j])
			w.Scored++
		}
		windows = append(windows, w)
		nll += w.NLL
		scored += w.Scored

		prevEnd = end
		if end == len(ids) {
			break
		}
	}
	return windows, nll, scored
}

// logSoftmaxAt returns log softmax(row)[k] in float64, subtracting the row
// maximum first so the exponentials cannot overflow.
func logSoftmaxAt(row []float32, k int32) float64 {
	if int(k) < 0 || int(k) >= len(row) {
		panic(fmt.Sprintf("eval: token id %d outside vocabulary of %d", k, len(row)))
	}
	maxLogit := math.Inf(-1)
	for _, x := range row {
		maxLogit = max(maxLogit, float64(x))
	}
	var sum float64
	for _, x := range row {
		sum += math.Exp(float64(x) - maxLogit)
	}
	return float64(row[k]) - maxLogit - math.Log(sum)
}
