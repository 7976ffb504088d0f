package tokenizer

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

func splitAll(fn splitFunc, s string) []string {
	var out []string
	for i := 0; i < len(s); {
		end := fn(s, i)
		out = append(out, s[i:end])
		i = end
	}
	return out
}

func TestSplitGPT2(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"it's we'll I'M", []string{"it", "'s", " we", "'ll", " I", "'", "M"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a   ", []string{"a", "   "}},
		{"x\n\n y", []string{"x", "\n\n", " y"}},
		{"x 123 ...!", []string{"x", " 123", " ...!"}},
		{"a\u0085b", []string{"a", "\u0085", "b"}},   // U+0085 is \s in Oniguruma
		{"a \ufeffb", []string{"a", " \ufeff", "b"}}, // U+FEFF is not
		{"x\xffy", []string{"x", "\xff", "y"}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			if got := splitAll(splitGPT2, c.text); !slices.Equal(got, c.want) {
				t.Errorf("split %q:\n got  %q\n want %q", c.text, got, c.want)
			}
		})
	}
}

func TestSplitCL100K(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"it'S WE'LL", []string{"it", "'S", " WE", "'LL"}},
		{"1234567", []string{"123", "456", "7"}},
		{"(hello) x", []string{"(hello", ")", " x"}},
		{"a \n\n b", []string{"a", " \n\n", " b"}},
		{"x!!\n\ny", []string{"x", "!!\n\n", "y"}},
		{"a   b", []string{"a", "  ", " b"}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			if got := splitAll(splitCL100K, c.text); !slices.Equal(got, c.want) {
				t.Errorf("split %q:\n got  %q\n want %q", c.text, got, c.want)
			}
		})
	}
}

func TestSplitQwen2(t *testing.T) {
	want := []string{"x", "1", "2", "3", "4", " y", "'S"}
	if got := splitAll(splitQwen2, "x1234 y'S"); !slices.Equal(got, want) {
		t.Errorf("split:\n got  %q\n want %q", got, want)
	}
}

func TestMetaspaceWords(t *testing.T) {
	cases := []struct {
		name    string
		m       metaspace
		text    string
		atStart bool
		want    []string
	}{
		{"always split", metaspace{'▁', prependAlways, true}, "Hey   friend!", false, []string{"▁Hey", "▁", "▁", "▁friend!"}},
		{"first at start", metaspace{'▁', prependFirst, false}, " Hey ", true, []string{"▁Hey▁"}},
		{"first later", metaspace{'▁', prependFirst, false}, "how are", false, []string{"how▁are"}},
		{"never split", metaspace{'▁', prependNever, true}, "a b", true, []string{"a", "▁b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			c.m.words(c.text, c.atStart, func(w string) { got = append(got, w) })
			if !slices.Equal(got, c.want) {
				t.Errorf("words(%q):\n got  %q\n want %q", c.text, got, c.want)
			}
		})
	}
}

func TestMetaspaceDecode(t *testing.T) {
	tokens := []string{"▁Hey", "▁friend!"}
	for _, c := range []struct {
		scheme, want string
	}{
		{prependAlways, "Hey friend!"},
		{prependNever, " Hey friend!"},
	} {
		m := metaspace{'▁', c.scheme, true}
		if got := strings.Join(m.decodeChain(tokens), ""); got != c.want {
			t.Errorf("decode with prepend_scheme %s = %q, want %q", c.scheme, got, c.want)
		}
	}
}

func TestAppendLossyUTF8(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"valid", "héllo 👋", "héllo 👋"},
		{"truncated 3-byte", "\xe4\xb8A", "\uFFFDA"},
		{"truncated 4-byte at end", "a\xf0\x9f\x91", "a\uFFFD"},
		{"lone continuation bytes", "\x80\x80", "\uFFFD\uFFFD"},
		{"surrogate", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"overlong", "\xc0\xaf", "\uFFFD\uFFFD"},
		{"above U+10FFFF", "\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"bad second byte of E0", "\xe0\x80\x80", "\uFFFD\uFFFD\uFFFD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(appendLossyUTF8(nil, []byte(c.in))); got != c.want {
				t.Errorf("appendLossyUTF8(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestEncodeConcurrent(t *testing.T) {
	tok := goldenTokenizer(t, "gpt2")
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. 中文 🙂 ", 50)
	want := tok.Encode(text)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if got := tok.Encode(text); !slices.Equal(got, want) {
				t.Errorf("concurrent Encode differs: %d ids, want %d", len(got), len(want))
			}
		})
	}
	wg.Wait()
}

func TestEncodeLongWordWithoutSpaces(t *testing.T) {
	tok := goldenTokenizer(t, "gpt2")
	word := strings.Repeat("abcdefghij", 2000)
	ids := tok.Encode(word)
	if got := tok.Decode(ids, false); got != word {
		t.Errorf("Decode(Encode(20000 letters)) differs from the input")
	}
}

var (
	fuzzTokOnce sync.Once
	fuzzTok     *Tokenizer
)

// fuzzTokenizer returns a small byte-level tokenizer trained on fixed text,
// so the fuzz target needs no shared files.
func fuzzTokenizer(t testing.TB) *Tokenizer {
	fuzzTokOnce.Do(func() {
		corpus := []string{
			"The licensee shall indemnify the licensor against all claims.",
			"Patients with hypertension received 20 mg daily; 中文 文本 🙂🙂",
			"don't won't it's they're we've I'll he'd",
		}
		var err error
		fuzzTok, err = Train(slices.Values(corpus), TrainOptions{VocabSize: 400, SpecialTokens: []string{"<|endoftext|>"}})
		if err != nil {
			panic(err)
		}
	})
	return fuzzTok
}

// FuzzByteLevelRoundTrip checks that decoding the encoding of any string
// gives the string back, with invalid UTF-8 replaced as Rust does.
func FuzzByteLevelRoundTrip(f *testing.F) {
	for _, s := range roundTripTexts {
		f.Add(s)
	}
	f.Add("\xe4\xb8A\xff")
	f.Fuzz(func(t *testing.T, s string) {
		tok := fuzzTokenizer(t)
		want := string(appendLossyUTF8(nil, []byte(s)))
		for _, split := range []bool{false, true} {
			ids := tok.EncodeWithOptions(s, EncodeOptions{AddSpecialTokens: true, SplitSpecialTokens: split})
			if got := tok.Decode(ids, false); got != want {
				t.Errorf("split=%v: Decode(Encode(%q)) = %q, want %q", split, s, got, want)
			}
		}
		if utf8.ValidString(s) && !strings.Contains(s, "<|endoftext|>") {
			if got := tok.Decode(tok.Encode(s), true); got != s {
				t.Errorf("Decode(Encode(%q), skipSpecial) = %q", s, got)
			}
		}
	})
}

// BenchmarkEncodeGPT2 measures encode throughput on PubMed abstracts and
// Debian license texts.
func BenchmarkEncodeGPT2(b *testing.B) {
	tok := goldenTokenizer(b, "gpt2")
	var sb strings.Builder
	for _, s := range licenseTexts(b) {
		sb.WriteString(s)
	}
	if data, err := os.ReadFile(sharedtest.Dir(b, "data", "medical", "pubmedqa", "ori_pqal.json")); err == nil {
		sb.Write(data)
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}
