package finetune

// Replay of general-domain text during fine-tuning, the rehearsal remedy
// for catastrophic forgetting (Robins 1995, "Catastrophic Forgetting,
// Rehearsal and Pseudorehearsal"): a fixed share of every batch comes from
// text like the pretraining data instead of the domain corpus.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/adapt-llm/adapt/corpus"
	"github.com/adapt-llm/adapt/tokenizer"
)

// ReplayConfig selects the general-domain text mixed into training batches.
type ReplayConfig struct {
	// Path is a JSONL file with one {"text": ...} object per line, or a
	// folder of document shards such as a clean stage's output. Must be set
	// when Fraction > 0.
	Path string `yaml:"path" json:"path,omitempty"`
	// Fraction is the share of training sequences, in [0, 1), taken from
	// Path. Zero means no replay.
	Fraction float64 `yaml:"fraction" json:"fraction,omitempty"`
}

// replaySeedOffset separates the replay split's visiting order from the
// domain split's, which uses Config.Seed itself.
const replaySeedOffset = 0x5265706c6179 // "Replay" in ASCII

// replayCount returns how many of the first n sequence slots of the run
// belong to replay: floor(fraction·n). Micro-batch k then holds
// replayCount((k+1)·B) − replayCount(k·B) replay sequences, so over any
// stretch of batches the share stays within one sequence of fraction.
func replayCount(fraction float64, n int64) int64 {
	return int64(math.Floor(fraction * float64(n)))
}

// seqOrder maps a position in the concatenated per-epoch orders of a split
// to a sequence index. The order of each epoch depends only on seed and
// epoch.
type seqOrder struct {
	n     int
	seed  int64
	epoch int
	order []int
}

func (o *seqOrder) at(pos int64) int {
	epoch := int(pos / int64(o.n))
	if epoch != o.epoch || o.order == nil {
		o.order = epochOrder(o.n, o.seed, epoch)
		o.epoch = epoch
	}
	return o.order[pos%int64(o.n)]
}

// mixBatcher cuts micro-batches from a domain split and, when replay is
// set, a replay split. Micro-batch k is a function of k alone, so a resumed
// run gets the same batches. Domain sequences come first in each batch and
// replay sequences fill the last slots. Without replay, micro-batch k holds
// the sequences at positions k·B … k·B+B−1 of the concatenated per-epoch
// orders, so batches run on across epoch boundaries.
type mixBatcher struct {
	domain, replay           *Packed
	domainOrder, replayOrder seqOrder
	B                        int
	fraction                 float64
	ids                      []int32 // [B,T] buffer
	targets                  []int32 // [B,T] buffer
}

func newMixBatcher(domain, replay *Packed, B int, seed int64, fraction float64) *mixBatcher {
	T := domain.SeqLen
	mb := &mixBatcher{
		domain:      domain,
		domainOrder: seqOrder{n: domain.Len(), seed: seed},
		B:           B,
		ids:         make([]int32, B*T),
		targets:     make([]int32, B*T),
	}
	if replay != nil && replay.Len() > 0 && fraction > 0 {
		if replay.SeqLen != T {
			panic(fmt.Sprintf("finetune: replay sequence length %d != training sequence length %d", replay.SeqLen, T))
		}
		mb.replay, mb.fraction = replay, fraction
		mb.replayOrder = seqOrder{n: replay.Len(), seed: seed + replaySeedOffset}
	}
	return mb
}

// at returns micro-batch k. The returned slices are reused by the next call.
func (mb *mixBatcher) at(k int64) (ids, targets []int32) {
	B, T := int64(mb.B), mb.domain.SeqLen
	replayBefore, replayHere := int64(0), int64(0)
	if mb.replay != nil {
		replayBefore = replayCount(mb.fraction, k*B)
		replayHere = replayCount(mb.fraction, (k+1)*B) - replayBefore
	}
	domainBefore := k*B - replayBefore

	for i := range B {
		var src *Packed
		var seq int
		if i < B-replayHere {
			src, seq = mb.domain, mb.domainOrder.at(domainBefore+i)
		} else {
			src, seq = mb.replay, mb.replayOrder.at(replayBefore+i-(B-replayHere))
		}
		copy(mb.ids[int(i)*T:int(i+1)*T], src.Inputs[seq*T:(seq+1)*T])
		copy(mb.targets[int(i)*T:int(i+1)*T], src.Targets[seq*T:(seq+1)*T])
	}
	return mb.ids, mb.targets
}

// loadReplay reads, tokenizes and packs the replay text at path: a JSONL
// file or a folder of document shards.
func loadReplay(path string, tok *tokenizer.Tokenizer, eot int32, seqLen int) (*Packed, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading replay data: %w", err)
	}
	pack := NewPacker(seqLen, eot)
	docs := 0
	add := func(text string) {
		pack.Add(tok.EncodeWithOptions(text, DocumentEncoding))
		docs++
	}

	if info.IsDir() {
		paths, err := corpus.ListShards(path)
		if err != nil {
			return nil, fmt.Errorf("listing replay shards: %w", err)
		}
		for doc, err := range corpus.ReadShards(paths...) {
			if err != nil {
				return nil, fmt.Errorf("reading replay shards: %w", err)
			}
			add(doc.Text)
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading replay data: %w", err)
		}
		defer f.Close()
		if err := ReadTextJSONL(f, path, add); err != nil {
			return nil, err
		}
	}

	packed := pack.Finish()
	if packed.Len() == 0 {
		return nil, fmt.Errorf("%w: replay data %s has %d documents with %d tokens, too few for one sequence of %d",
			ErrNoData, path, docs, packed.Tokens, seqLen)
	}
	return packed, nil
}

// maxJSONLLine is the longest JSONL line ReadTextJSONL accepts, in bytes.
const maxJSONLLine = 64 << 20

// ReadTextJSONL calls fn with the "text" field of each line of a JSONL
// stream, one JSON object per line. Blank lines are skipped. name labels
// errors, which give the line number of a line that is not a JSON object
// or whose "text" is missing or not a string.
func ReadTextJSONL(r io.Reader, name string, fn func(text string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("%s line %d: %w; each line must be a JSON object with a \"text\" string", name, line, err)
		}
		if rec.Text == nil {
			return fmt.Errorf("%s line %d: the object has no \"text\" string; each line must be a JSON object with one", name, line)
		}
		fn(*rec.Text)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s line %d: longer than %d bytes: %w", name, line+1, maxJSONLLine, err)
		}
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}
