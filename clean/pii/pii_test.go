package pii

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/adapt-llm/adapt/internal/sharedtest"
)

// spans returns the matched substrings of text, prefixed by their type.
func spans(text string, matches []Match) []string {
	var out []string
	for _, m := range matches {
		out = append(out, m.Type+":"+text[m.Start:m.End])
	}
	return out
}

func TestFindPositives(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"plain address", "Contact jane.doe@example.com for details.", []string{"EMAIL:jane.doe@example.com"}},
		{"angle-bracketed address", "1995 Ian Murdock <imurdock@debian.org>", []string{"EMAIL:<imurdock@debian.org>"}},
		{"subdomain and plus tag", "mail a.b+lists@mx.cs.uni-bonn.de now", []string{"EMAIL:a.b+lists@mx.cs.uni-bonn.de"}},
		{"bracketed at and dot", "write to joe [at] example [dot] org.", []string{"EMAIL:joe [at] example [dot] org"}},
		{"parenthesised at", "bugs: maint(at)lists.example.net", []string{"EMAIL:maint(at)lists.example.net"}},
		{"two addresses", "a@example.com, b@example.org", []string{"EMAIL:a@example.com", "EMAIL:b@example.org"}},
		{"US number with parentheses", "Call (617) 253-1000 today.", []string{"PHONE:(617) 253-1000"}},
		{"US number with hyphens", "Phone: 617-253-1000", []string{"PHONE:617-253-1000"}},
		{"US number with dots", "office 617.253.1000, room 4", []string{"PHONE:617.253.1000"}},
		{"international German", "Tel.: +49 30 2093 2345", []string{"PHONE:+49 30 2093 2345"}},
		{"international UK", "ring +44 20 7946 0958 after 9", []string{"PHONE:+44 20 7946 0958"}},
		{"international French", "+33 1 42 68 53 00", []string{"PHONE:+33 1 42 68 53 00"}},
		{"bare run after cue word", "fax 6172531000", []string{"PHONE:6172531000"}},
		{"number with trailing count", "Phone: 617-253-1000 2 lines", []string{"PHONE:617-253-1000"}},
		{"phone and email together", "Jane <jane@example.com>, +1 617 253 1000",
			[]string{"EMAIL:<jane@example.com>", "PHONE:+1 617 253 1000"}},
		// Chinese landlines in national format, next to Han characters.
		{"Chinese landline in parentheses", "座机(021)64041990", []string{"PHONE:(021)64041990"}},
		{"Chinese landline with spaces", "电话 021 6404 1990 联系", []string{"PHONE:021 6404 1990"}},
		{"Chinese landline with extension", "021-64041990转123", []string{"PHONE:021-64041990"}},
		{"Chinese landline in English text", "phone (021) 6404-1990 for appointments", []string{"PHONE:(021) 6404-1990"}},
		{"country code without plus", "手机86-13987654321", []string{"PHONE:86-13987654321"}},
		// Full-width forms are matched as ASCII and reported at their
		// original offsets.
		{"full-width mobile", "手机１３８１２３４５６７８，请联系", []string{"PHONE:１３８１２３４５６７８"}},
		{"full-width email", "邮箱：ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ。", []string{"EMAIL:ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := spans(tc.text, Find(tc.text))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Find(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestFindNegatives(t *testing.T) {
	cases := []struct {
		name string
		text string
	}{
		{"copyright years", "Copyright (C) 1991, 1999 Free Software Foundation, Inc."},
		{"year range", "Copyright 1999-2004 John Smith"},
		{"list of year ranges", "1996-1999 2000-2004 2005-2009 Guy Maor"},
		{"FSF postal address", "51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA"},
		{"old FSF postal address", "59 Temple Place - Suite 330, Boston, MA 02111-1307, USA"},
		{"version string", "adapt 1.22.3 and linux 6.1.0-37-amd64"},
		{"four-part version", "version 10.0.19041.1234"},
		{"IPv4 address", "listen on 192.168.100.200 port 8080"},
		{"ISO date", "released 2004-01-02"},
		{"slash date", "on 12/31/2004 at noon"},
		{"hex hash", "sha256 d41d8cd98f00b204e9800998ecf8427e and 4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
		{"digits between hex letters", "commit 3f2a1234567890ab"},
		{"UUID", "id 123e4567-e89b-12d3-a456-426614174000"},
		{"all-digit UUID", "12345678-1234-1234-1234-123456789012"},
		{"reference number", "Ref. 617-253-1000"},
		{"ISBN", "ISBN 0-201-63361-2"},
		{"invoice number", "invoice #6172531000"},
		{"bare digit run without cue", "order 6172531000 shipped"},
		{"number inside identifier", "build-6172531000-x"},
		{"address without top-level domain", "user@localhost"},
		{"bare at and dot words", "name at example dot com"},
		{"decimal amounts", "revenue of 1,234,567.89 dollars"},
		{"case citation", "2005 Ill. App. LEXIS 1234, 835 N.E.2d 123"},
		{"ZIP code alone", "Boston MA 02110"},
		{"time stamp", "2004-01-02 12:30:45"},
		{"publication pages", "Chen Li. VLDB J. 12(3): 211-227 (2003)."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := spans(tc.text, Find(tc.text)); len(got) != 0 {
				t.Errorf("Find(%q) = %q, want no matches", tc.text, got)
			}
		})
	}
}

func TestFindOverlapsResolveToOneSpan(t *testing.T) {
	text := "reach john.6172531000@example.com or (617) 253-1000"
	got := Find(text)
	want := []string{"EMAIL:john.6172531000@example.com", "PHONE:(617) 253-1000"}
	if g := spans(text, got); !reflect.DeepEqual(g, want) {
		t.Fatalf("Find = %q, want %q", g, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Start < got[i-1].End {
			t.Errorf("matches %d and %d overlap: %+v %+v", i-1, i, got[i-1], got[i])
		}
	}
}

func TestResolveOverlapsByPrecedence(t *testing.T) {
	cases := []struct {
		name string
		in   []Match
		want []Match
	}{
		{"higher type wins over longer",
			[]Match{{TypePhone, 0, 20}, {TypeCNID, 2, 20}},
			[]Match{{TypeCNID, 2, 20}}},
		{"longer wins within a type",
			[]Match{{TypePhone, 10, 14}, {TypePhone, 8, 20}},
			[]Match{{TypePhone, 8, 20}}},
		{"earlier wins on equal length",
			[]Match{{TypePhone, 12, 22}, {TypePhone, 10, 20}},
			[]Match{{TypePhone, 10, 20}}},
		{"URL credentials beat e-mail",
			[]Match{{TypeEmail, 12, 30}, {TypeURLCredentials, 8, 20}},
			[]Match{{TypeURLCredentials, 8, 20}}},
		{"disjoint matches kept and sorted",
			[]Match{{TypeEmail, 30, 40}, {TypePhone, 10, 20}, {TypeEmail, 5, 8}},
			[]Match{{TypeEmail, 5, 8}, {TypePhone, 10, 20}, {TypeEmail, 30, 40}}},
		{"touching matches do not overlap",
			[]Match{{TypeIP, 5, 10}, {TypeDOB, 10, 15}},
			[]Match{{TypeIP, 5, 10}, {TypeDOB, 10, 15}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveOverlaps(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("resolveOverlaps = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	cases := []struct {
		name       string
		text       string
		want       string
		wantCounts map[string]int64
	}{
		{"email and phone", "Jane <jane@example.com>, tel. +1 617 253 1000.",
			"Jane <EMAIL>, tel. <PHONE>.", map[string]int64{"EMAIL": 1, "PHONE": 1}},
		{"nothing to redact", "Copyright (C) 1991, 1999 Free Software Foundation",
			"Copyright (C) 1991, 1999 Free Software Foundation", map[string]int64{}},
		{"repeated string glued to a word", "call 617-253-1000 or x617-253-1000",
			"call <PHONE> or x<PHONE>", map[string]int64{"PHONE": 2}},
		{"match revealed by an earlier redaction", "a@b.co617-253-1000 end",
			"<EMAIL><PHONE> end", map[string]int64{"EMAIL": 1, "PHONE": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, counts := Redact(tc.text)
			if got != tc.want {
				t.Errorf("Redact text = %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(counts, tc.wantCounts) {
				t.Errorf("Redact counts = %v, want %v", counts, tc.wantCounts)
			}
		})
	}
}

// TestRedactDebianCopyright redacts the real copyright files Debian installs,
// which name maintainers by e-mail address, and checks that nothing is left
// for Find and that the FSF postal address survives.
func TestRedactDebianCopyright(t *testing.T) {
	path := sharedtest.Dir(t, "data", "legal", "debian", "debian_copyright_unique.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	var docs, emails, phones int64
	for scanner.Scan() {
		var rec struct {
			Package string `json:"package"`
			Text    string `json:"text"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &rec); err != nil {
			t.Fatalf("decoding record %d: %v", docs+1, err)
		}
		docs++
		out, counts := Redact(rec.Text)
		emails += counts[TypeEmail]
		phones += counts[TypePhone]
		if left := Find(out); len(left) != 0 {
			t.Errorf("package %s: %d matches left after Redact", rec.Package, len(left))
		}
		if strings.Contains(rec.Text, "02110-1301") && !strings.Contains(out, "02110-1301") {
			t.Errorf("package %s: postal code 02110-1301 was redacted", rec.Package)
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d documents: %d e-mail and %d phone redactions", docs, emails, phones)
	if emails < docs {
		t.Errorf("only %d e-mail redactions in %d copyright files, want at least one per file on average", emails, docs)
	}
}

// TestFindCommonLicensesHasNoPhones checks the license texts, which are full
// of years, section numbers and postal codes but contain no phone number.
func TestFindCommonLicensesHasNoPhones(t *testing.T) {
	dir := "/usr/share/common-licenses"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no %s on this machine: %v", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // a dangling symlink
		}
		text := string(data)
		for _, m := range Find(text) {
			if m.Type == TypePhone {
				t.Errorf("%s: phone match %q at byte %d", e.Name(), text[m.Start:m.End], m.Start)
			}
		}
	}
}

func FuzzRedact(f *testing.F) {
	seeds := []string{
		"Jane <jane@example.com>, tel. +1 617 253 1000.",
		"Copyright (C) 1991, 1999 Free Software Foundation",
		"51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA",
		"a@b.co617-253-1000",
		"joe [at] example [dot] org",
		"(((617))) 253--1000 +++1",
		"\xff\xfe@\x00x.com",
		"card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32",
		"SSN 078-05-1120, born on 12 March 1980, host 203.0.113.7",
		"https://bob:s3cret@example.com/ 2001:db8::1",
		"出生日期：1980年3月12日，身份证11010519491231002X，手机 138 1234 5678",
		"DOB: 1980-03-12 +86 13812345678 ::ffff:203.0.113.9",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		matches := Find(text)
		out, counts := Redact(text)
		for _, m := range matches {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
				t.Fatalf("match %+v out of range for %d bytes", m, len(text))
			}
			if s := text[m.Start:m.End]; strings.Contains(out, s) {
				t.Fatalf("output %q still contains match %q", out, s)
			}
		}
		if left := Find(out); len(left) != 0 {
			t.Fatalf("Find(Redact(%q)) = %v, want none", text, spans(out, left))
		}
		var total int64
		for _, n := range counts {
			total += n
		}
		if total < int64(len(matches)) {
			t.Fatalf("counts %v total %d, want at least %d", counts, total, len(matches))
		}
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("Redact made valid UTF-8 invalid: %q", out)
		}
	})
}

func TestRedactFullWidth(t *testing.T) {
	text := "患者手机１３８１２３４５６７８，邮箱 a@example.com。"
	got, counts := Redact(text)
	if strings.ContainsAny(got, "１３８") || strings.Contains(got, "example") {
		t.Errorf("Redact(%q) = %q, personal data left", text, got)
	}
	if counts[TypePhone] != 1 || counts[TypeEmail] != 1 {
		t.Errorf("counts = %v, want one phone and one email", counts)
	}
	if !strings.HasPrefix(got, "患者手机") || !strings.HasSuffix(got, "。") {
		t.Errorf("Redact(%q) = %q changed the text around the matches", text, got)
	}
}

func FuzzFoldFullWidth(f *testing.F) {
	f.Add("手机１３８１２３４５６７８")
	f.Add("a\xffｂ\u3000c")
	f.Fuzz(func(t *testing.T, text string) {
		folded, origin, ok := foldFullWidth(text)
		if !ok {
			return
		}
		if len(origin) != len(folded)+1 || origin[len(folded)] != len(text) {
			t.Fatalf("origin has %d entries for %d folded bytes", len(origin), len(folded))
		}
		for i := 1; i < len(origin); i++ {
			if origin[i] < origin[i-1] {
				t.Fatalf("origin decreases at %d: %v", i, origin)
			}
		}
		for _, m := range Find(text) {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
				t.Fatalf("Find(%q) returned span [%d,%d)", text, m.Start, m.End)
			}
		}
	})
}
