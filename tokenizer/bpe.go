package tokenizer

import (
	"sync"
	"unicode/utf8"
)

// bpeModel is the "BPE" model of Hugging Face tokenizers 0.23. A word
// starts as one symbol per character (per byte for byte-level tokenizers).
// Then the adjacent pair with the lowest merge rank is merged, leftmost
// first, until no pair has a merge.
type bpeModel struct {
	vocab     map[string]int32
	idToToken []string // indexed by id; "" where an id is unused

	// merges maps a pair of symbol ids (left<<32 | right) to the merge's
	// rank<<32 | merged id.
	merges map[uint64]uint64
	// mergeOrder lists the merges' pairs by rank, for Save.
	mergeOrder [][2]int32

	unkID int32 // -1 when the model has no unk_token
	// The optional string fields as read, kept so that Save writes null
	// where the file had null.
	unkToken, continuingSubwordPrefix, endOfWordSuffix *string
	fuseUnk                                            bool
	byteFallback                                       bool
	ignoreMerges                                       bool

	// byteLevel marks a model whose words arrive as raw bytes that the
	// ByteLevel pre-tokenizer maps to runes. byteIDs holds each byte's
	// symbol id, or -1 when the vocabulary lacks it.
	byteLevel   bool
	byteIDs     [256]int32
	allBytes    bool       // every byteIDs entry is present
	fallbackIDs [256]int32 // ids of the <0xNN> tokens, -1 when absent

	cacheMu sync.RWMutex
	cache   map[string][]int32
}

// Cache limits. Hugging Face caches words shorter than 256 bytes
// (MAX_LENGTH in bpe/model.rs); the entry limit bounds memory.
const (
	cacheMaxWordLen = 256
	cacheMaxEntries = 1 << 17
)

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// initTables fills the derived lookup tables after vocab is set.
func (m *bpeModel) initTables() {
	m.allBytes = true
	for b := 0; b < 256; b++ {
		id, ok := m.vocab[string(byteToRune[b])]
		if !ok {
			id = -1
			m.allBytes = false
		}
		m.byteIDs[b] = id

		fb, ok := m.vocab[byteFallbackToken(byte(b))]
		if !ok {
			fb = -1
		}
		m.fallbackIDs[b] = fb
	}
	m.cache = make(map[string][]int32)
}

// byteFallbackToken returns the SentencePiece byte token for b, "<0x0A>"
// for a newline.
func byteFallbackToken(b byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})
}

// encodeWord appends the ids of word to dst.
func (m *bpeModel) encodeWord(dst []int32, word string) []int32 {
	if len(word) == 0 {
		return dst
	}
	cacheable := len(word) < cacheMaxWordLen
	if cacheable {
		m.cacheMu.RLock()
		ids, ok := m.cache[word]
		m.cacheMu.RUnlock()
		if ok {
			return append(dst, ids...)
		}
	}

	start := len(dst)
	dst = m.tokenizeWord(dst, word)

	if cacheable {
		ids := make([]int32, len(dst)-start)
		copy(ids, dst[start:])
		m.cacheMu.Lock()
		if len(m.cache) >= cacheMaxEntries {
			clear(m.cache)
		}
		m.cache[string([]byte(word))] = ids
		m.cacheMu.Unlock()
	}
	return dst
}

// tokenizeWord appends the ids of word to dst without the cache.
func (m *bpeModel) tokenizeWord(dst []int32, word string) []int32 {
	text := word
	if m.byteLevel {
		text = byteLevelString(word)
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[text]; ok {
			return append(dst, id)
		}
	}

	w := wordPool.Get().(*bpeWord)
	w.reset()
	if m.byteLevel && m.allBytes {
		for i := 0; i < len(word); i++ {
			w.add(m.byteIDs[word[i]])
		}
	} else {
		m.initialSymbols(w, text)
	}
	m.mergeAll(w)
	for i := 0; i >= 0 && i < len(w.symbols); i = int(w.symbols[i].next) {
		dst = append(dst, w.symbols[i].id)
	}
	wordPool.Put(w)
	return dst
}

// initialSymbols splits text into one symbol per character, as merge_word
// in bpe/model.rs does: a character missing from the vocabulary becomes its
// <0xNN> byte tokens when byte_fallback is set and all exist, otherwise the
// unk token (consecutive unknowns fused into one with fuse_unk), otherwise
// it is dropped.
func (m *bpeModel) initialSymbols(w *bpeWord, text string) {
	pendingUnk := false
	for i := 0; i < len(text); {
		_, size := utf8.DecodeRuneInString(text[i:])
		char := text[i : i+size]
		i += size

		if id, ok := m.vocab[char]; ok {
			if pendingUnk {
				w.add(m.unkID)
				pendingUnk = false
			}
			w.add(id)
			continue
		}
		if m.byteFallback && m.hasFallback(char) {
			for j := 0; j < len(char); j++ {
				w.add(m.fallbackIDs[char[j]])
			}
			continue
		}
		if m.unkID < 0 {
			continue
		}
		if pendingUnk && !m.fuseUnk {
			w.add(m.unkID)
		}
		pendingUnk = true
	}
	if pendingUnk {
		w.add(m.unkID)
	}
}

func (m *bpeModel) hasFallback(char string) bool {
	for j := 0; j < len(char); j++ {
		if m.fallbackIDs[char[j]] < 0 {
			return false
		}
	}
	return true
}

// bpeSymbol is one symbol of a word being merged, in a doubly linked list.
type bpeSymbol struct {
	id         int32
	prev, next int32 // -1 at the ends
	removed    bool
}

// bpeMerge is a candidate merge of the symbol at pos with its successor.
type bpeMerge struct {
	rank  uint32
	pos   int32
	newID int32
}

func (a bpeMerge) less(b bpeMerge) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

// bpeWord is the scratch state of one word; words are pooled so that a
// cache miss allocates nothing beyond the cached result.
type bpeWord struct {
	symbols []bpeSymbol
	heap    []bpeMerge
}

var wordPool = sync.Pool{New: func() any { return new(bpeWord) }}

func (w *bpeWord) reset() {
	w.symbols = w.symbols[:0]
	w.heap = w.heap[:0]
}

func (w *bpeWord) add(id int32) {
	n := int32(len(w.symbols))
	if n > 0 {
		w.symbols[n-1].next = n
	}
	w.symbols = append(w.symbols, bpeSymbol{id: id, prev: n - 1, next: -1})
}

func (w *bpeWord) push(m bpeMerge) {
	w.heap = append(w.heap, m)
	i := len(w.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !w.heap[i].less(w.heap[parent]) {
			break
		}
		w.heap[i], w.heap[parent] = w.heap[parent], w.heap[i]
		i = parent
	}
}

func (w *bpeWord) pop() bpeMerge {
	top := w.heap[0]
	last := len(w.heap) - 1
	w.heap[0] = w.heap[last]
	w.heap = w.heap[:last]
	i := 0
	for {
		l, r, min := 2*i+1, 2*i+2, i
		if l < last && w.heap[l].less(w.heap[min]) {
			min = l
		}
		if r < last && w.heap[r].less(w.heap[min]) {
			min = r
		}
		if min == i {
			return top
		}
		w.heap[i], w.heap[min] = w.heap[min], w.heap[i]
		i = min
	}
}

// candidate pushes the merge of the symbol at pos with its successor, if
// the pair has one.
func (m *bpeModel) candidate(w *bpeWord, pos int32) {
	next := w.symbols[pos].next
	if next < 0 {
		return
	}
	if v, ok := m.merges[pairKey(w.symbols[pos].id, w.symbols[next].id)]; ok {
		w.push(bpeMerge{rank: uint32(v >> 32), pos: pos, newID: int32(uint32(v))})
	}
}

// mergeAll applies merges in order of (rank, position) with a priority
// queue, skipping queue entries made stale by earlier merges, as
// Word::merge_all in bpe/word.rs does.
func (m *bpeModel) mergeAll(w *bpeWord) {
	for i := range w.symbols {
		m.candidate(w, int32(i))
	}
	for len(w.heap) > 0 {
		top := w.pop()
		sym := &w.symbols[top.pos]
		if sym.removed || sym.next < 0 {
			continue
		}
		right := w.symbols[sym.next]
		v, ok := m.merges[pairKey(sym.id, right.id)]
		if !ok || int32(uint32(v)) != top.newID {
			continue
		}

		// Merge the right symbol into this one and relink.
		sym.id = top.newID
		w.symbols[sym.next].removed = true
		sym.next = right.next
		if right.next >= 0 {
			w.symbols[right.next].prev = top.pos
		}

		if sym.prev >= 0 {
			m.candidate(w, sym.prev)
		}
		m.candidate(w, top.pos)
	}
}

// token returns the vocabulary string of id.
func (m *bpeModel) token(id int32) (string, bool) {
	if id < 0 || int(id) >= len(m.idToToken) || m.idToToken[id] == "" {
		return "", false
	}
	return m.idToToken[id], true
}
