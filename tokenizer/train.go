package tokenizer

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"strings"
)

// TrainOptions configures Train.
type TrainOptions struct {
	// VocabSize is the total number of ids, counting the 256 byte tokens,
	// the learned merges and SpecialTokens. It must be at least
	// 256 + len(SpecialTokens). Training stops early when no pair is left
	// to merge, so the result can be smaller.
	VocabSize int
	// MinFrequency is the minimum number of occurrences, over the corpus,
	// of a pair to be merged. Zero or one merges any pair that occurs.
	MinFrequency int
	// SpecialTokens become special added tokens, numbered after the learned
	// tokens in the order given, for example "<|endoftext|>". Their text is
	// split out of the training texts before counting.
	SpecialTokens []string
	// Logger receives a summary of the corpus and the merges; nil discards.
	Logger *slog.Logger
}

// Train learns a GPT-2 style byte-level BPE from texts. It splits every
// text with the GPT-2 pattern, counts the words, and then repeatedly merges
// the most frequent adjacent pair of symbols. Ties go to the pair with the
// smaller ids, as in BpeTrainer of Hugging Face tokenizers
// (tokenizers/src/models/bpe/trainer.rs). Pair counts are updated
// incrementally, touching only the words that contain the merged pair.
// The 256 byte tokens take ids 0 to 255 in GPT-2's order, so a saved file
// has GPT-2's layout.
func Train(texts iter.Seq[string], opts TrainOptions) (*Tokenizer, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	counts := countWords(texts, opts.SpecialTokens)
	tr := newTrainer(counts)
	logger.Info("counted words", "unique", len(tr.words), "pairs", len(tr.pairCounts))

	target := opts.VocabSize - len(opts.SpecialTokens)
	tr.learn(target, int64(max(opts.MinFrequency, 1)))
	logger.Info("learned merges", "merges", len(tr.merges), "vocab", len(tr.tokens))

	return tr.tokenizer(opts.SpecialTokens)
}

func (o TrainOptions) validate() error {
	if min := 256 + len(o.SpecialTokens); o.VocabSize < min {
		return fmt.Errorf("train: VocabSize %d is below the %d byte and special tokens: %w", o.VocabSize, min, ErrInvalid)
	}
	if o.VocabSize > maxVocabID {
		return fmt.Errorf("train: VocabSize %d is above the limit %d: %w", o.VocabSize, maxVocabID, ErrInvalid)
	}
	if o.MinFrequency < 0 {
		return fmt.Errorf("train: MinFrequency %d is negative: %w", o.MinFrequency, ErrInvalid)
	}
	seen := map[string]bool{}
	for _, s := range o.SpecialTokens {
		if s == "" || seen[s] {
			return fmt.Errorf("train: special token %q is empty or repeated: %w", s, ErrInvalid)
		}
		seen[s] = true
	}
	return nil
}

// countWords returns how often each pre-tokenized word (raw bytes) occurs.
func countWords(texts iter.Seq[string], specials []string) map[string]int64 {
	tokens := make([]*addedToken, len(specials))
	for i, s := range specials {
		tokens[i] = &addedToken{id: int32(i), content: s, pattern: s}
	}
	matcher := newAddedMatcher(tokens)

	counts := make(map[string]int64)
	countPiece := func(piece string, id int32) {
		if id >= 0 {
			return
		}
		for i := 0; i < len(piece); {
			end := splitGPT2(piece, i)
			word := piece[i:end]
			if n, ok := counts[word]; ok {
				counts[word] = n + 1
			} else {
				counts[strings.Clone(word)] = 1
			}
			i = end
		}
	}
	for text := range texts {
		matcher.split(text, false, countPiece)
	}
	return counts
}

// trainWord is one distinct word of the corpus as symbol ids.
type trainWord struct {
	symbols []int32
	count   int64
}

type trainer struct {
	words      []trainWord
	tokens     []string // byte-level token strings, indexed by id
	tokenIDs   map[string]int32
	merges     [][2]int32
	pairCounts map[uint64]int64
	// where is the list of words that may contain each pair. An entry goes
	// stale when a merge removes the pair from a word, and a word can be
	// listed twice. learn skips both cases.
	where map[uint64][]int32
	queue pairQueue
}

func newTrainer(counts map[string]int64) *trainer {
	tr := &trainer{
		words:      make([]trainWord, 0, len(counts)),
		tokens:     make([]string, 256),
		tokenIDs:   make(map[string]int32),
		pairCounts: make(map[uint64]int64),
		where:      make(map[uint64][]int32),
	}
	var byteID [256]int32
	for id, b := range byteLevelOrder {
		byteID[b] = int32(id)
		tr.tokens[id] = string(byteToRune[b])
		tr.tokenIDs[tr.tokens[id]] = int32(id)
	}

	for word, count := range counts {
		symbols := make([]int32, len(word))
		for i := 0; i < len(word); i++ {
			symbols[i] = byteID[word[i]]
		}
		w := int32(len(tr.words))
		tr.words = append(tr.words, trainWord{symbols: symbols, count: count})
		for i := 0; i+1 < len(symbols); i++ {
			tr.addPair(pairKey(symbols[i], symbols[i+1]), count, w)
		}
	}
	for pair, count := range tr.pairCounts {
		tr.queue = append(tr.queue, pairEntry{pair: pair, count: count})
	}
	heap.Init(&tr.queue)
	return tr
}

// addPair adds count occurrences of pair, found in word w.
func (tr *trainer) addPair(pair uint64, count int64, w int32) {
	tr.pairCounts[pair] += count
	list := tr.where[pair]
	if len(list) == 0 || list[len(list)-1] != w {
		tr.where[pair] = append(list, w)
	}
}

// learn merges pairs until the vocabulary has target tokens or no pair
// occurs at least minFrequency times.
func (tr *trainer) learn(target int, minFrequency int64) {
	visited := make([]int32, len(tr.words)) // merge number + 1 that last touched each word
	grown := map[uint64]bool{}
	for len(tr.tokens) < target && tr.queue.Len() > 0 {
		top := heap.Pop(&tr.queue).(pairEntry)
		count := tr.pairCounts[top.pair]
		if count != top.count {
			// A stale entry: requeue with the current count.
			if count > 0 {
				heap.Push(&tr.queue, pairEntry{pair: top.pair, count: count})
			}
			continue
		}
		if count < minFrequency {
			break
		}

		a, b := int32(top.pair>>32), int32(uint32(top.pair))
		// Two merge paths can spell the same token; it keeps its first id.
		merged := tr.tokens[a] + tr.tokens[b]
		newID, exists := tr.tokenIDs[merged]
		if !exists {
			newID = int32(len(tr.tokens))
			tr.tokens = append(tr.tokens, merged)
			tr.tokenIDs[merged] = newID
		}
		tr.merges = append(tr.merges, [2]int32{a, b})
		stamp := int32(len(tr.merges))

		clear(grown)
		for _, w := range tr.where[top.pair] {
			if visited[w] == stamp {
				continue
			}
			visited[w] = stamp
			tr.mergeWord(w, a, b, newID, grown)
		}
		delete(tr.where, top.pair)
		delete(tr.pairCounts, top.pair)

		for pair := range grown {
			if c := tr.pairCounts[pair]; c > 0 {
				heap.Push(&tr.queue, pairEntry{pair: pair, count: c})
			}
		}
	}
}

// mergeWord replaces every occurrence of (a, b) in word w with newID, left
// to right, and updates the pair counts of the neighbours, as Word::merge
// in the Rust trainer does. Pairs whose count grew are added to grown.
func (tr *trainer) mergeWord(w int32, a, b, newID int32, grown map[uint64]bool) {
	word := &tr.words[w]
	syms := word.symbols
	count := word.count
	out := 0
	for i := 0; i < len(syms); {
		if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
			if out > 0 {
				prev := syms[out-1]
				tr.pairCounts[pairKey(prev, a)] -= count
				p := pairKey(prev, newID)
				tr.addPair(p, count, w)
				grown[p] = true
			}
			if i+2 < len(syms) {
				next := syms[i+2]
				tr.pairCounts[pairKey(b, next)] -= count
				p := pairKey(newID, next)
				tr.addPair(p, count, w)
				grown[p] = true
			}
			syms[out] = newID
			out++
			i += 2
			continue
		}
		syms[out] = syms[i]
		out++
		i++
	}
	word.symbols = syms[:out]
}

// tokenizer builds the trained tokenizer by encoding it as a tokenizer.json
// and parsing that, so that Train and Load give identical tokenizers.
func (tr *trainer) tokenizer(specials []string) (*Tokenizer, error) {
	m := &bpeModel{
		vocab:                   tr.tokenIDs,
		idToToken:               tr.tokens,
		mergeOrder:              tr.merges,
		unkID:                   -1,
		continuingSubwordPrefix: new(string),
		endOfWordSuffix:         new(string),
	}
	t := &Tokenizer{
		model:            m,
		rawPreTokenizer:  json.RawMessage(`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`),
		rawPostProcessor: json.RawMessage(`{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}`),
		rawDecoder:       json.RawMessage(`{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`),
	}
	for i, s := range specials {
		t.added = append(t.added, &addedToken{id: int32(len(tr.tokens) + i), content: s, special: true})
	}
	data, err := t.marshal()
	if err != nil {
		return nil, fmt.Errorf("train: encoding the result: %w", err)
	}
	return parse(data, "trained tokenizer")
}

// pairEntry is a queue entry; its count can be stale.
type pairEntry struct {
	pair  uint64
	count int64
}

// pairQueue is a max-heap by count, ties to the smaller pair.
type pairQueue []pairEntry

func (q pairQueue) Len() int { return len(q) }
func (q pairQueue) Less(i, j int) bool {
	if q[i].count != q[j].count {
		return q[i].count > q[j].count
	}
	return q[i].pair < q[j].pair
}
func (q pairQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pairQueue) Push(x any)   { *q = append(*q, x.(pairEntry)) }
func (q *pairQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
