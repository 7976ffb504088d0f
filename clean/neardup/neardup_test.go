package neardup

import (
	"context"
	"errors"
	"iter"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/corpus"
)

func newTestHasher(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	h, err := NewHasher(cfg)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", cfg, err)
	}
	return h
}

// englishWords is the vocabulary of the generated English test texts.
var englishWords = strings.Fields(`the court held that a contract between two parties
is void when one of them lacked capacity at the time of signing and the
patient received a dose of the drug twice daily for six weeks while the
company reported revenue growth in each quarter of the fiscal year under
review by its auditors who found no material weakness in internal control`)

// chineseChars is the alphabet of the generated Chinese test texts.
var chineseChars = []rune("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你能而子那得下自之年过发后里道行所然家种事方多经么去法学如都同现当没动面起看定天还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商")

// generate returns n pseudo-random tokens from vocab, joined by sep.
func generate(rng *rand.Rand, vocab []string, n int, sep string) string {
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = vocab[rng.IntN(len(vocab))]
	}
	return strings.Join(tokens, sep)
}

// perturb replaces k tokens of text, split by sep, with other tokens from
// vocab.
func perturb(rng *rand.Rand, text string, vocab []string, k int, sep string) string {
	var tokens []string
	if sep == "" {
		for _, r := range text {
			tokens = append(tokens, string(r))
		}
	} else {
		tokens = strings.Split(text, sep)
	}
	for range k {
		i := rng.IntN(len(tokens))
		tokens[i] = vocab[rng.IntN(len(vocab))]
	}
	return strings.Join(tokens, sep)
}

func chineseVocab() []string {
	var v []string
	for _, r := range chineseChars {
		v = append(v, string(r))
	}
	return v
}

// seqOf yields documents with the texts, each ID derived from its text.
func seqOf(texts []string) iter.Seq2[corpus.Document, error] {
	return func(yield func(corpus.Document, error) bool) {
		for _, text := range texts {
			if !yield(corpus.Document{ID: corpus.HashText(text), Text: text}, nil) {
				return
			}
		}
	}
}

func TestMulAddMod61MatchesBigInt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := big.NewInt(mersenne61)
	cases := [][3]uint64{{0, 0, 0}, {mersenne61, mersenne61, mersenne61}, {mersenne61 - 1, mersenne61 - 1, mersenne61 - 1}, {1, mersenne61, 0}}
	for range 1000 {
		cases = append(cases, [3]uint64{rng.Uint64() >> 3, rng.Uint64() >> 3, rng.Uint64N(mersenne61)})
	}
	for _, c := range cases {
		want := new(big.Int).Mul(new(big.Int).SetUint64(c[0]), new(big.Int).SetUint64(c[1]))
		want.Add(want, new(big.Int).SetUint64(c[2])).Mod(want, p)
		if got := mulAddMod61(c[0], c[1], c[2]); got != want.Uint64() {
			t.Fatalf("mulAddMod61(%d, %d, %d) = %d, want %d", c[0], c[1], c[2], got, want.Uint64())
		}
	}
}

// TestJaccardEstimateError checks the MinHash estimate against exact
// Jaccard similarities of random sets. Under min-wise independence the
// number of agreeing positions is Binomial(k, J), so the estimate has
// standard deviation sigma = sqrt(J(1-J)/k). Each estimate must fall within
// 4.5 sigma (two-sided probability about 7e-6 per pair). The mean error over
// a case's trials must fall within 4.5 sigma/sqrt(trials), which catches a
// bias of the (a*x+b) mod p family, because it is only approximately
// min-wise independent.
func TestJaccardEstimateError(t *testing.T) {
	const trials = 40
	for _, numPerm := range []int{64, 128, 256} {
		h := newTestHasher(t, Config{NumPerm: numPerm})
		for _, j := range []float64{0.1, 0.3, 0.5, 0.8, 0.95} {
			t.Run(strings.ReplaceAll(strings.TrimSpace(strings.Join([]string{itoa(numPerm), ftoa(j)}, " ")), " ", "/"), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(numPerm), math.Float64bits(j)))
				sigma := math.Sqrt(j * (1 - j) / float64(numPerm))
				var sumErr float64
				for range trials {
					// |A∩B| = common, |A∪B| = union = 1000.
					const union = 1000
					common := int(math.Round(j * union))
					onlyA := (union - common) / 2
					exact := float64(common) / union
					x, y := make(Signature, numPerm), make(Signature, numPerm)
					for i := range x {
						x[i], y[i] = mersenne61, mersenne61
					}
					for i := range union {
						v := rng.Uint64()
						switch {
						case i < common:
							h.update(x, v)
							h.update(y, v)
						case i < common+onlyA:
							h.update(x, v)
						default:
							h.update(y, v)
						}
					}
					est := Jaccard(x, y)
					if d := math.Abs(est - exact); d > 4.5*sigma {
						t.Errorf("estimate %.4f for exact Jaccard %.4f: error %.4f above 4.5 sigma = %.4f", est, exact, d, 4.5*sigma)
					}
					sumErr += est - exact
				}
				if mean, bound := sumErr/trials, 4.5*sigma/math.Sqrt(trials); math.Abs(mean) > bound {
					t.Errorf("mean error %.4f over %d trials, want within %.4f", mean, trials, bound)
				}
			})
		}
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
func ftoa(f float64) string {
	return strings.TrimRight(strings.TrimRight(big.NewFloat(f).Text('f', 2), "0"), ".")
}

// TestOptimalBandsTable compares with the (b, r) that datasketch's
// criterion gives, computed independently in Python with datasketch's own
// fallback integration (midpoint rule, step 0.001).
func TestOptimalBandsTable(t *testing.T) {
	cases := []struct {
		threshold    float64
		numPerm      int
		wantB, wantR int
	}{
		{0.5, 16, 5, 3}, {0.5, 64, 14, 4}, {0.5, 128, 25, 5}, {0.5, 256, 42, 6},
		{0.7, 16, 3, 5}, {0.7, 64, 8, 8}, {0.7, 128, 14, 9}, {0.7, 256, 25, 10},
		{0.8, 16, 2, 8}, {0.8, 64, 5, 11}, {0.8, 128, 9, 13}, {0.8, 256, 17, 15},
		{0.9, 16, 1, 15}, {0.9, 64, 3, 21}, {0.9, 128, 5, 25}, {0.9, 256, 9, 28},
	}
	for _, c := range cases {
		t.Run(ftoa(c.threshold)+"/"+itoa(c.numPerm), func(t *testing.T) {
			b, r := OptimalBands(c.threshold, c.numPerm)
			if b != c.wantB || r != c.wantR {
				t.Errorf("OptimalBands(%g, %d) = (%d, %d), want (%d, %d)", c.threshold, c.numPerm, b, r, c.wantB, c.wantR)
			}
			if b*r > c.numPerm {
				t.Errorf("b*r = %d exceeds num_perm %d", b*r, c.numPerm)
			}
		})
	}
}

func TestTokenizeScripts(t *testing.T) {
	cases := []struct {
		name, text string
		want       int // tokens
	}{
		{"english words", "The Court, held: that!", 4},
		{"case and punctuation", "THE court...HELD", 3},
		{"chinese by characters", "我们今天去公园。", 7},
		{"japanese by characters", "これは日本語です", 8},
		{"english with one chinese name", "the author 李 wrote this book today", 7},
		{"only punctuation", "!!! ???", 0},
		{"empty", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := len(tokenize(nil, c.text)); got != c.want {
				t.Errorf("tokenize(%q) gives %d tokens, want %d", c.text, got, c.want)
			}
		})
	}
	if a, b := tokenize(nil, "The  Court, held"), tokenize(nil, "the court held"); !slices.Equal(a, b) {
		t.Errorf("case and punctuation change tokens: %x vs %x", a, b)
	}
}

// clusterTexts computes signatures of texts as one shard and clusters them.
func clusterTexts(t *testing.T, cfg Config, texts []string) Decisions {
	t.Helper()
	records, err := Signatures(context.Background(), cfg, "s", seqOf(texts))
	if err != nil {
		t.Fatalf("Signatures: %v", err)
	}
	d, err := Cluster(cfg, records)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	return d
}

func TestNearDuplicatesFound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zh := chineseVocab()
	enBase := generate(rng, englishWords, 400, " ")
	zhBase := generate(rng, zh, 500, "")
	cases := []struct {
		name  string
		texts []string
	}{
		{"english three words changed", []string{enBase, perturb(rng, enBase, englishWords, 3, " ")}},
		{"english case and punctuation", []string{enBase, strings.ToUpper(enBase[:1]) + enBase[1:] + "."}},
		{"chinese three characters changed", []string{zhBase, perturb(rng, zhBase, zh, 3, "")}},
		{"exact copy", []string{enBase, enBase}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := clusterTexts(t, Config{}, c.texts)
			if d[0].Removed || !d[1].Removed {
				t.Errorf("removed = %v, %v; want false, true", d[0].Removed, d[1].Removed)
			}
			if d[1].Cluster != d[0].ID {
				t.Errorf("cluster of the copy = %s, want survivor %s", d[1].Cluster, d[0].ID)
			}
			if d[0].Similarity != 1 {
				t.Errorf("similarity of the survivor = %g, want 1", d[0].Similarity)
			}
			if d[1].Similarity < DefaultThreshold || d[1].Similarity > 1 {
				t.Errorf("similarity of the copy = %g, want in [%g, 1]", d[1].Similarity, DefaultThreshold)
			}
		})
	}
}

func TestDistinctDocumentsKept(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	zh := chineseVocab()
	var texts []string
	for range 100 {
		texts = append(texts, generate(rng, englishWords, 200, " "))
		texts = append(texts, generate(rng, zh, 300, ""))
	}
	// A pair with about half its shingles shared: similar, but below 0.8.
	half := generate(rng, englishWords, 400, " ")
	words := strings.Fields(half)
	texts = append(texts, half, strings.Join(words[:200], " ")+" "+generate(rng, englishWords, 120, " "))

	d := clusterTexts(t, Config{}, texts)
	if got := d.Removed(); got != 0 {
		for _, dec := range d {
			if dec.Removed {
				t.Logf("removed row %d into %s", dec.Row, dec.Cluster)
			}
		}
		t.Errorf("removed %d of %d distinct documents, want 0", got, len(texts))
	}
}

func TestShortDocuments(t *testing.T) {
	cases := []struct {
		name        string
		a, b        string
		wantRemoved bool
	}{
		{"same short text", "Hello world", "hello, world!", true},
		{"different short texts", "Hello world", "Goodbye world", false},
		{"one word differs in a short text", "a b c", "a b d", false},
		{"same punctuation only", "!!!", "!!!", true},
		{"different punctuation only", "!!!", "???", false},
		{"both empty", "", "", false},
		{"both whitespace", " \n", "\t", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := clusterTexts(t, Config{}, []string{c.a, c.b})
			if d[0].Removed {
				t.Errorf("first document removed")
			}
			if d[1].Removed != c.wantRemoved {
				t.Errorf("second document removed = %v, want %v", d[1].Removed, c.wantRemoved)
			}
		})
	}
}

// testCorpus returns distinct documents with near-duplicates and exact
// copies scattered among them, and chains where A~B and B~C.
func testCorpus() []string {
	rng := rand.New(rand.NewPCG(7, 8))
	zh := chineseVocab()
	var texts []string
	for i := range 150 {
		var text string
		if i%2 == 0 {
			text = generate(rng, englishWords, 300, " ")
		} else {
			text = generate(rng, zh, 400, "")
		}
		texts = append(texts, text)
		if i%5 == 0 {
			sep := " "
			vocab := englishWords
			if i%2 == 1 {
				sep, vocab = "", zh
			}
			b := perturb(rng, text, vocab, 4, sep)
			texts = append(texts, b, perturb(rng, b, vocab, 4, sep))
		}
		if i%7 == 0 {
			texts = append(texts, text)
		}
	}
	return texts
}

func TestDeterminismAndShardOrder(t *testing.T) {
	texts := testCorpus()
	single := clusterTexts(t, Config{}, texts)
	if single.Removed() == 0 {
		t.Fatal("test corpus has no near-duplicates to find")
	}
	again := clusterTexts(t, Config{}, texts)
	if !slices.Equal(single, again) {
		t.Fatal("two runs on the same input differ")
	}

	// Three shards, written separately and merged in every order.
	dir := t.TempDir()
	cuts := []int{0, len(texts) / 3, 2 * len(texts) / 3, len(texts)}
	var paths []string
	for i := range 3 {
		shard := "shard-" + itoa(i)
		records, err := Signatures(context.Background(), Config{}, shard, seqOf(texts[cuts[i]:cuts[i+1]]))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, shard+".parquet")
		if err := WriteSignatures(path, Config{}, records); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o644 {
			t.Errorf("signature file mode = %v, want -rw-r--r--", mode)
		}
	}
	orders := [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}}
	for _, order := range orders {
		var ordered []string
		for _, i := range order {
			ordered = append(ordered, paths[i])
		}
		merged, err := Merge(ordered...)
		if err != nil {
			t.Fatalf("Merge(%v): %v", order, err)
		}
		if len(merged) != len(single) {
			t.Fatalf("Merge(%v) gave %d decisions, want %d", order, len(merged), len(single))
		}
		for i := range merged {
			got, want := merged[i], single[i]
			if got.ID != want.ID || got.Cluster != want.Cluster || got.Removed != want.Removed {
				t.Fatalf("Merge(%v) row %d: got %+v, single pass %+v", order, i, got, want)
			}
		}
	}
}

func TestIndexRemovesSubsetOfCluster(t *testing.T) {
	texts := testCorpus()
	clustered := clusterTexts(t, Config{}, texts)
	ix, err := NewIndex(Config{})
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for i, text := range texts {
		m, dup := ix.Add(corpus.HashText(text), text)
		if dup {
			removed++
			if !clustered[i].Removed {
				t.Errorf("row %d removed by Index but kept by Cluster", i)
			}
			if m.Similarity < DefaultThreshold {
				t.Errorf("row %d matched at similarity %.3f, below %g", i, m.Similarity, DefaultThreshold)
			}
		}
	}
	if removed == 0 || removed > clustered.Removed() {
		t.Errorf("Index removed %d, Cluster %d; want 0 < Index <= Cluster", removed, clustered.Removed())
	}
}

func TestMergeErrors(t *testing.T) {
	dir := t.TempDir()
	texts := testCorpus()[:20]
	write := func(name string, cfg Config, shard string) string {
		records, err := Signatures(context.Background(), cfg, shard, seqOf(texts))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := WriteSignatures(path, cfg, records); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.parquet", Config{}, "a")
	other := write("b.parquet", Config{NumPerm: 64}, "b")
	garbage := filepath.Join(dir, "garbage.parquet")
	if err := os.WriteFile(garbage, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		paths []string
		want  error
	}{
		{"different num_perm", []string{a, other}, ErrParamsMismatch},
		{"same file twice", []string{a, a}, ErrDuplicateRow},
		{"not parquet", []string{garbage}, ErrCorruptSignatures},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Merge(c.paths...)
			if !errors.Is(err, c.want) {
				t.Errorf("Merge error = %v, want %v", err, c.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero means defaults", Config{}, true},
		{"default", DefaultConfig(), true},
		{"threshold above one", Config{Threshold: 1.5}, false},
		{"threshold NaN", Config{Threshold: math.NaN()}, false},
		{"negative num_perm", Config{NumPerm: -1}, false},
		{"num_perm too large", Config{NumPerm: MaxNumPerm + 1}, false},
		{"shingle too long", Config{ShingleSize: MaxShingleSize + 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if (err == nil) != c.ok {
				t.Errorf("Validate() = %v, want ok %v", err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func FuzzSignature(f *testing.F) {
	for _, s := range []string{"", " ", "a", "Hello, world", "我们今天去公园", "\xff\xfe", "a b c d e f g", "Ǆ\u0301x"} {
		f.Add(s)
	}
	h := newTestHasher(f, Config{NumPerm: 32, ShingleSize: 3})
	f.Fuzz(func(t *testing.T, text string) {
		sig := h.Signature(text)
		again := h.Signature(text)
		if !slices.Equal(sig, again) {
			t.Fatalf("Signature(%q) differs between calls", text)
		}
		if strings.TrimSpace(text) == "" {
			if sig != nil {
				t.Fatalf("Signature(%q) = %v, want nil for blank text", text, sig)
			}
			return
		}
		if len(sig) != 32 {
			t.Fatalf("Signature(%q) has %d values, want 32", text, len(sig))
		}
		for i, v := range sig {
			if v >= mersenne61 {
				t.Fatalf("Signature(%q)[%d] = %d, not below 2^61-1", text, i, v)
			}
		}
	})
}
