package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func sampleDocs() []Document {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	return []Document{
		{
			ID: HashText("GPL text"), Text: "GNU GENERAL PUBLIC LICENSE\nVersion 2", Domain: "legal",
			Source: "local", URL: "/usr/share/common-licenses/GPL-2", License: "GPL-2.0-only",
			Lang: "en", LangConfidence: 0.97, CollectedAt: at, Title: "GNU GENERAL PUBLIC LICENSE",
			RawSHA256: HashBytes([]byte("raw")), HTTPStatus: 0,
			Meta:         map[string]string{"format": "text", "record": "12"},
			Quality:      map[string]float64{"word_count": 3, "symbol_ratio": 0.01},
			DedupCluster: "abc",
			Redactions:   map[string]int64{"EMAIL": 2},
		},
		{}, // every field empty
		{ID: "x", Text: "合同法第一条 为了保护合同当事人的合法权益。", Title: "test", Lang: "zh", Meta: map[string]string{"": "empty key"}},
		{ID: "y", Text: "test", Domain: "test", Meta: map[string]string{}, Quality: map[string]float64{}},
	}
}

// normalize makes empty and nil maps compare equal, because Parquet stores
// both as an empty map.
func normalize(d Document) Document {
	if len(d.Meta) == 0 {
		d.Meta = nil
	}
	if len(d.Quality) == 0 {
		d.Quality = nil
	}
	if len(d.Redactions) == 0 {
		d.Redactions = nil
	}
	d.CollectedAt = d.CollectedAt.UTC()
	return d
}

func writeShards(t *testing.T, dir string, opts ShardOptions, docs []Document) []ShardInfo {
	t.Helper()
	w := NewShardWriter(dir, opts)
	if err := w.Write(docs...); err != nil {
		t.Fatalf("Write: %v", err)
	}
	infos, err := w.Close()
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	return infos
}

func TestShardRoundTrip(t *testing.T) {
	dir := t.TempDir()
	docs := sampleDocs()
	infos := writeShards(t, dir, ShardOptions{RelDir: "collect"}, docs)
	if len(infos) != 1 {
		t.Fatalf("got %d shards, want 1", len(infos))
	}
	if got, want := infos[0].Path, "collect/shard-00000.parquet"; got != want {
		t.Errorf("Path: got %q, want %q", got, want)
	}
	if got, want := infos[0].Rows, int64(len(docs)); got != want {
		t.Errorf("Rows: got %d, want %d", got, want)
	}
	path := filepath.Join(dir, "shard-00000.parquet")
	sum, size, err := HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum != infos[0].SHA256 || size != infos[0].Bytes {
		t.Errorf("file hash/size: got %s/%d, manifest has %s/%d", sum, size, infos[0].SHA256, infos[0].Bytes)
	}

	got, err := Collect(ReadShards(path))
	if err != nil {
		t.Fatalf("ReadShards: %v", err)
	}
	if len(got) != len(docs) {
		t.Fatalf("got %d rows, want %d", len(got), len(docs))
	}
	for i := range docs {
		t.Run(fmt.Sprint("row", i), func(t *testing.T) {
			if g, w := normalize(got[i]), normalize(docs[i]); !reflect.DeepEqual(g, w) {
				t.Errorf("got  %+v\nwant %+v", g, w)
			}
		})
	}
}

func TestShardRolling(t *testing.T) {
	docs := make([]Document, 25)
	for i := range docs {
		docs[i] = Document{ID: fmt.Sprint(i), Text: fmt.Sprintf("document %d", i)}
	}
	cases := []struct {
		name       string
		opts       ShardOptions
		wantShards int
	}{
		{"by rows", ShardOptions{MaxRows: 10}, 3},
		{"by bytes", ShardOptions{MaxBytes: 1}, 25},
		{"default", ShardOptions{}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			infos := writeShards(t, dir, tc.opts, docs)
			if len(infos) != tc.wantShards {
				t.Fatalf("got %d shards, want %d", len(infos), tc.wantShards)
			}
			paths, err := ListShards(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != tc.wantShards {
				t.Fatalf("ListShards: got %d paths, want %d", len(paths), tc.wantShards)
			}
			got, err := Collect(ReadShards(paths...))
			if err != nil {
				t.Fatal(err)
			}
			for i := range docs {
				if got[i].ID != docs[i].ID {
					t.Fatalf("row %d: got id %q, want %q", i, got[i].ID, docs[i].ID)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != tc.wantShards {
				t.Errorf("folder has %d entries, want only the %d shards", len(entries), tc.wantShards)
			}
		})
	}
}

func TestShardWriterZeroRows(t *testing.T) {
	dir := t.TempDir()
	infos := writeShards(t, dir, ShardOptions{}, nil)
	if len(infos) != 0 {
		t.Errorf("got %d shards, want 0", len(infos))
	}
	paths, err := ListShards(dir)
	if err != nil || len(paths) != 0 {
		t.Errorf("ListShards: got %v, %v; want no paths", paths, err)
	}
}

func TestShardWriterAbort(t *testing.T) {
	dir := t.TempDir()
	w := NewShardWriter(dir, ShardOptions{MaxRows: 1})
	if err := w.Write(sampleDocs()...); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("folder has %d entries after Abort, want 0", len(entries))
	}
}

func TestRejectedRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		rows []Rejected
	}{
		{"zero rows", nil},
		{"rows", []Rejected{
			{Document: sampleDocs()[0], Stage: "collect", Reason: "empty", Detail: "/tmp/a.txt: no text"},
			{Document: sampleDocs()[2], Stage: "clean", Reason: "test", Detail: ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewRejectedWriter(dir, ShardOptions{RelDir: "clean"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(tc.rows...); err != nil {
				t.Fatal(err)
			}
			info, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if info.Path != "clean/rejected.parquet" || info.Rows != int64(len(tc.rows)) {
				t.Errorf("info: got %+v, want path clean/rejected.parquet and %d rows", info, len(tc.rows))
			}
			got, err := Collect(ReadRejected(filepath.Join(dir, RejectedName)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.rows) {
				t.Fatalf("got %d rows, want %d", len(got), len(tc.rows))
			}
			for i := range got {
				g, w := got[i], tc.rows[i]
				g.Document, w.Document = normalize(g.Document), normalize(w.Document)
				if !reflect.DeepEqual(g, w) {
					t.Errorf("row %d:\ngot  %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func TestReadShardsErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.parquet")
	os.WriteFile(junk, []byte("PAR1 not really parquet PAR1"), 0o644)
	cases := []struct {
		name    string
		path    string
		corrupt bool
	}{
		{"missing file", filepath.Join(dir, "none.parquet"), false},
		{"not parquet", junk, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Collect(ReadShards(tc.path))
			if err == nil {
				t.Fatal("got nil error")
			}
			if got := errors.Is(err, ErrCorruptShard); got != tc.corrupt {
				t.Errorf("errors.Is(ErrCorruptShard): got %v, want %v (%v)", got, tc.corrupt, err)
			}
		})
	}
}

func TestReadShardsStopsEarly(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, ShardOptions{MaxRows: 2}, sampleDocs())
	paths, _ := ListShards(dir)
	n := 0
	for _, err := range ReadShards(paths...) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("got %d rows before break, want 3", n)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "collect")
	os.Mkdir(dir, 0o755)
	_, err := ReadManifest(dir)
	if !errors.Is(err, ErrNoManifest) {
		t.Fatalf("missing manifest: got %v, want ErrNoManifest", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("adapt collect")) {
		t.Errorf("missing-manifest error %q does not name the stage to run", err)
	}

	want := &Manifest{
		Stage: "collect", ToolVersion: "0.1.0", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Config:     map[string]any{"domain": "legal"},
		Shards:     []ShardInfo{{Path: "collect/shard-00000.parquet", SHA256: "ab", Rows: 3, Bytes: 100}},
		Rejected:   ShardInfo{Path: "collect/rejected.parquet", SHA256: "cd"},
		Counts:     Counts{In: 3, Kept: 3},
		RuleCounts: map[string]int64{"empty": 0},
		Stats:      map[string]float64{"seconds": 1.5},
	}
	if err := WriteManifest(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want.SchemaVersion != SchemaVersion {
		t.Errorf("WriteManifest left SchemaVersion %d, want %d", want.SchemaVersion, SchemaVersion)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder has %d entries, want only manifest.json", len(entries))
	}

	os.WriteFile(filepath.Join(dir, ManifestName), []byte("{"), 0o644)
	if _, err := ReadManifest(dir); err == nil {
		t.Error("truncated manifest: got nil error")
	}
}

func TestCountsCheck(t *testing.T) {
	cases := []struct {
		counts Counts
		ok     bool
	}{
		{Counts{}, true},
		{Counts{In: 10, Kept: 7, Rejected: 3}, true},
		{Counts{In: 10, Kept: 7, Rejected: 2}, false},
		{Counts{In: 1, Kept: 2, Rejected: -1}, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%+v", tc.counts), func(t *testing.T) {
			err := tc.counts.Check()
			if got := err == nil; got != tc.ok {
				t.Fatalf("got error %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrCountMismatch) {
				t.Errorf("got %v, want it to wrap ErrCountMismatch", err)
			}
		})
	}
}

func TestHashText(t *testing.T) {
	// SHA-256 test vector from FIPS 180-2, appendix B.1.
	if got, want := HashText("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if HashText("abc") != HashBytes([]byte("abc")) {
		t.Error("HashText and HashBytes disagree")
	}
}

func TestHeldOutFraction(t *testing.T) {
	const n = 20000
	for _, fraction := range []float64{0, 0.05, 0.1, 0.5, 1} {
		t.Run(fmt.Sprint(fraction), func(t *testing.T) {
			held := 0
			for i := range n {
				id := HashText(fmt.Sprint("doc", i))
				if HeldOut(id, fraction) {
					held++
				}
				if HeldOut(id, fraction) != HeldOut(id, fraction) {
					t.Fatal("HeldOut is not deterministic")
				}
			}
			got := float64(held) / n
			// Binomial standard deviation at p=0.5 and n=20000 is 0.0035, so
			// 0.015 is more than four standard deviations.
			const tolerance = 0.015
			if got < fraction-tolerance || got > fraction+tolerance {
				t.Errorf("held-out share: got %.4f, want %.2f ± %.3f", got, fraction, tolerance)
			}
		})
	}
}

func TestWriteManifestFileMode(t *testing.T) {
	dir := t.TempDir()
	if err := WriteManifest(dir, &Manifest{Stage: "collect"}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	// Group and other must be able to read it, as with the shards.
	if got := info.Mode().Perm(); got&0o444 != 0o444 {
		t.Errorf("manifest.json mode: got %v, want 0644", got)
	}
}
