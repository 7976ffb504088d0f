package eval

import (
	"fmt"

	"github.com/adapt-llm/adapt/tensor"
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
// Hugging Face guide's loop does. Log-softmax is computed in float64. The last window ends
// at len(ids).
//
// It returns the windows in order, the total NLL (nats) and the number of
// scored tokens. It panics if maxLength < 1, stride < 1 or stride > maxLength,
// or if logits returns a slice whose length is not a multiple of the window
// length.
func StridedNLL(ids []int32, maxLength, stride int, logits LogitsFunc) (windows []Window, nll float64, scored int) {
	forward := func(batch []int32, B, T int) []float32 {
		if B != 1 {
			panic(fmt.Sprintf("eval: StridedNLL asked for a batch of %d", B))
		}
		return logits(batch)
	}
	return StridedNLLBatched(ids, maxLength, stride, 1, forward)
}

// BatchLogitsFunc returns the next-token logits [B, T, V] of B sequences
// of T tokens, ids [B, T] row-major.
type BatchLogitsFunc func(ids []int32, B, T int) []float32

// StridedNLLBatched is StridedNLL with up to batch windows of equal length
// scored in one forward call, which keeps matrix products larger. The
// results are those of StridedNLL.
func StridedNLLBatched(ids []int32, maxLength, stride, batch int, forward BatchLogitsFunc) (windows []Window, nll float64, scored int) {
	if maxLength < 1 || stride < 1 || stride > maxLength || batch < 1 {
		panic(fmt.Sprintf("eval: StridedNLL needs 1 <= stride <= maxLength and batch >= 1, got maxLength %d, stride %d, batch %d", maxLength, stride, batch))
	}
	if len(ids) < 2 {
		return nil, 0, 0
	}

	// Lay out the windows: each scores the tokens after the previous
	// window's end, except its own first token, which has no context.
	type span struct {
		Window
		first int // first scored position inside the window
	}
	var spans []span
	prevEnd := 0
	for begin := 0; begin < len(ids); begin += stride {
		end := min(begin+maxLength, len(ids))
		T := end - begin
		spans = append(spans, span{Window: Window{Begin: begin, End: end}, first: max(T-(end-prevEnd), 1)})
		prevEnd = end
		if end == len(ids) {
			break
		}
	}

	// Score runs of equal-length windows in batches.
	buf := make([]int32, 0, batch*maxLength)
	for i := 0; i < len(spans); {
		T := spans[i].End - spans[i].Begin
		j := i + 1
		for j < len(spans) && j-i < batch && spans[j].End-spans[j].Begin == T {
			j++
		}
		B := j - i
		buf = buf[:0]
		for _, sp := range spans[i:j] {
			buf = append(buf, ids[sp.Begin:sp.End]...)
		}
		out := forward(buf, B, T)
		if len(out) == 0 || len(out)%(B*T) != 0 {
			panic(fmt.Sprintf("eval: logits for %d windows of %d tokens has length %d, not a multiple of %d", B, T, len(out), B*T))
		}
		V := len(out) / (B * T)
		for b := range B {
			sp := &spans[i+b]
			rows := out[b*T*V : (b+1)*T*V]
			window := buf[b*T : (b+1)*T]
			for p := sp.first; p < T; p++ {
				sp.NLL -= logSoftmaxAt(rows[(p-1)*V:p*V], window[p])
				sp.Scored++
			}
		}
		i = j
	}

	windows = make([]Window, len(spans))
	for i, sp := range spans {
		windows[i] = sp.Window
		nll += sp.NLL
		scored += sp.Scored
	}
	return windows, nll, scored
}

// logSoftmaxAt returns log softmax(row)[k] in float64, with the row's
// log-sum-exp from tensor.LogSumExp (maximum subtracted first, float32
// exponentials summed in float64).
func logSoftmaxAt(row []float32, k int32) float64 {
	if int(k) < 0 || int(k) >= len(row) {
		panic(fmt.Sprintf("eval: token id %d outside vocabulary of %d", k, len(row)))
	}
	return float64(row[k]) - tensor.LogSumExp(row)
}
