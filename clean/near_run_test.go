package clean

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/corpus"
)

// changeWord replaces the n-th whitespace-separated word of text from the
// end with "verdict", a word prose never draws.
func changeWord(text string, n int) string {
	words := strings.Split(text, " ")
	i := len(words) - 1 - n
	for words[i] == "" {
		i--
	}
	words[i] = "verdict"
	return strings.Join(words, " ")
}

// readOutput returns the kept documents and rejected rows of a clean output.
func readOutput(t *testing.T, out string, m *corpus.Manifest) ([]corpus.Document, []corpus.Rejected) {
	t.Helper()
	var paths []string
	for _, s := range m.Shards {
		paths = append(paths, filepath.Join(out, filepath.Base(s.Path)))
	}
	kept, err := corpus.Collect(corpus.ReadShards(paths...))
	if err != nil {
		t.Fatal(err)
	}
	rejected, err := corpus.Collect(corpus.ReadRejected(filepath.Join(out, corpus.RejectedName)))
	if err != nil {
		t.Fatal(err)
	}
	return kept, rejected
}

func TestRunNearDuplicateAcrossShards(t *testing.T) {
	// writeInput puts three documents in each shard, so the near copies of
	// "a" are in the second and third input shards.
	docs := []corpus.Document{
		inputDoc("a", prose(1, 150)),
		inputDoc("b", prose(2, 150)),
		inputDoc("c", prose(3, 150)),
		inputDoc("a-near", changeWord(prose(1, 150), 20)),
		inputDoc("d", prose(4, 150)),
		inputDoc("e", prose(5, 150)),
		inputDoc("a-near-2", changeWord(prose(1, 150), 60)),
	}
	ws := t.TempDir()
	in := writeInput(t, ws, docs)
	out := filepath.Join(ws, "clean")
	m, err := Run(context.Background(), Options{InDir: in, OutDir: out, Config: DefaultConfig()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if want := (corpus.Counts{In: 7, Kept: 5, Rejected: 2}); m.Counts != want {
		t.Errorf("counts = %+v, want %+v", m.Counts, want)
	}
	if got := m.RuleCounts[ReasonDuplicateNear]; got != 2 {
		t.Errorf("RuleCounts[%s] = %d, want 2", ReasonDuplicateNear, got)
	}
	if got := m.Stats["documents_"+ReasonDuplicateNear]; got != 2 {
		t.Errorf("Stats[documents_%s] = %g, want 2", ReasonDuplicateNear, got)
	}
	if _, ok := m.Stats["seconds_dedup_near"]; !ok {
		t.Errorf("Stats has no seconds_dedup_near: %v", m.Stats)
	}

	kept, rejected := readOutput(t, out, m)
	if int64(len(kept)) != m.Counts.Kept || int64(len(rejected)) != m.Counts.Rejected {
		t.Fatalf("output has %d kept and %d rejected rows, manifest counts %+v", len(kept), len(rejected), m.Counts)
	}
	var keptURLs []string
	survivor := ""
	for _, doc := range kept {
		keptURLs = append(keptURLs, doc.URL)
		if doc.URL == "/data/a.txt" {
			survivor = doc.ID
		}
		if doc.DedupCluster != doc.ID {
			t.Errorf("kept %s has DedupCluster %s, want its own ID %s", doc.URL, doc.DedupCluster, doc.ID)
		}
	}
	wantKept := []string{"/data/a.txt", "/data/b.txt", "/data/c.txt", "/data/d.txt", "/data/e.txt"}
	if !slices.Equal(keptURLs, wantKept) {
		t.Errorf("kept %v, want %v in input order", keptURLs, wantKept)
	}
	for _, row := range rejected {
		if row.Reason != ReasonDuplicateNear {
			t.Errorf("rejected %s with reason %s, want %s", row.URL, row.Reason, ReasonDuplicateNear)
			continue
		}
		if row.DedupCluster != survivor {
			t.Errorf("rejected %s has DedupCluster %s, want survivor %s", row.URL, row.DedupCluster, survivor)
		}
		if !strings.Contains(row.Detail, survivor) || !strings.Contains(row.Detail, "Jaccard") {
			t.Errorf("detail %q does not name survivor %s and the Jaccard estimate", row.Detail, survivor)
		}
		if strings.Contains(row.Detail, "tenant") || strings.Contains(row.Detail, "landlord") {
			t.Errorf("detail %q contains document text", row.Detail)
		}
	}

	// Output modes: 0755 for the folder, 0644 for its files.
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o755 {
		t.Errorf("output folder mode = %v, want drwxr-xr-x", mode)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o644 {
			t.Errorf("%s mode = %v, want -rw-r--r--", e.Name(), mode)
		}
	}

	// The same input gives the same output.
	again, err := Run(context.Background(), Options{InDir: in, OutDir: filepath.Join(ws, "clean-again"), Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if again.Rejected.SHA256 != m.Rejected.SHA256 {
		t.Errorf("second run wrote a different rejected file")
	}
}

func TestRunNearDedupKeepsDistinct(t *testing.T) {
	var docs []corpus.Document
	for i := range 7 {
		docs = append(docs, inputDoc("d", prose(10+i, 150)))
	}
	ws := t.TempDir()
	m, err := Run(context.Background(), Options{InDir: writeInput(t, ws, docs), OutDir: filepath.Join(ws, "clean"), Config: DefaultConfig()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if m.Counts.Kept != 7 || m.RuleCounts[ReasonDuplicateNear] != 0 {
		t.Errorf("kept %d, near-duplicates %d; want 7 and 0", m.Counts.Kept, m.RuleCounts[ReasonDuplicateNear])
	}
}

func TestRunNearDedupOff(t *testing.T) {
	docs := []corpus.Document{inputDoc("a", prose(1, 150)), inputDoc("a-near", changeWord(prose(1, 150), 20))}
	ws := t.TempDir()
	cfg := DefaultConfig()
	cfg.NearDedup.Enabled = false
	m, err := Run(context.Background(), Options{InDir: writeInput(t, ws, docs), OutDir: filepath.Join(ws, "clean"), Config: cfg})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if m.Counts.Kept != 2 {
		t.Errorf("kept %d with near-dedup off, want 2", m.Counts.Kept)
	}
}

// chineseMedicalText is ordinary Chinese prose about hypertension, unlike
// chineseText in topic and characters.
const chineseMedicalText = "高血压是一种常见的慢性疾病，患者的动脉血压长期高于正常范围。早期通常没有明显症状，因此很多人并不知道自己患病。" +
	"长期未经控制的高血压会损害心脏、大脑和肾脏，增加中风和心力衰竭的风险。医生建议患者减少食盐摄入，坚持适量运动，戒烟限酒，并定期测量血压。" +
	"必要时应在医生指导下服用降压药物，不可自行停药或者随意调整剂量。"

func TestRunChineseNearDuplicates(t *testing.T) {
	near := strings.Replace(chineseText, "人民法院", "各级法院", 1)
	docs := []corpus.Document{
		inputDoc("law", chineseText),
		inputDoc("medical", chineseMedicalText),
		inputDoc("medical-near", chineseMedicalText+"患者应当遵医嘱。"),
		inputDoc("law-near", near),
	}
	ws := t.TempDir()
	cfg := DefaultConfig()
	cfg.Languages = []string{"zh"}
	cfg.MinWords = 50
	out := filepath.Join(ws, "clean")
	m, err := Run(context.Background(), Options{InDir: writeInput(t, ws, docs), OutDir: out, Config: cfg})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	kept, rejected := readOutput(t, out, m)
	var keptURLs, nearURLs []string
	for _, doc := range kept {
		keptURLs = append(keptURLs, doc.URL)
	}
	for _, row := range rejected {
		if row.Reason == ReasonDuplicateNear {
			nearURLs = append(nearURLs, row.URL)
		}
	}
	if want := []string{"/data/law.txt", "/data/medical.txt"}; !slices.Equal(keptURLs, want) {
		t.Errorf("kept %v, want %v; rejected %+v", keptURLs, want, rejected)
	}
	if want := []string{"/data/medical-near.txt", "/data/law-near.txt"}; !slices.Equal(nearURLs, want) {
		t.Errorf("near-duplicates %v, want %v", nearURLs, want)
	}
}

func TestRunResumesWithNearDedup(t *testing.T) {
	var docs []corpus.Document
	for i := range 9 {
		docs = append(docs, inputDoc("d", prose(20+i%4, 120)))
	}
	// Near copies in later shards of documents in the first.
	docs = append(docs, inputDoc("near-0", changeWord(prose(20, 120), 10)), inputDoc("near-1", changeWord(prose(21, 120), 30)))

	runOnce := func(ws string, stopAfter int) (*corpus.Manifest, error) {
		in := filepath.Join(ws, "collect")
		if _, err := os.Stat(in); err != nil {
			in = writeInput(t, ws, docs)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		afterPartHook = func(index int) {
			if index == stopAfter {
				cancel()
			}
		}
		defer func() { afterPartHook = nil }()
		return Run(ctx, Options{InDir: in, OutDir: filepath.Join(ws, "clean"), Config: DefaultConfig()})
	}

	full, err := runOnce(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if full.RuleCounts[ReasonDuplicateNear] != 2 {
		t.Fatalf("uninterrupted run found %d near-duplicates, want 2", full.RuleCounts[ReasonDuplicateNear])
	}
	ws := t.TempDir()
	if _, err := runOnce(ws, 1); err == nil {
		t.Fatal("interrupted run returned no error")
	}

	// Only finished parts and the progress file stay behind.
	entries, err := os.ReadDir(filepath.Join(ws, ".clean.partial"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{partName(0), partName(1), progressName}; !slices.Equal(names, want) {
		t.Errorf("work folder after cancel holds %v, want %v", names, want)
	}
	if _, err := os.Stat(filepath.Join(ws, ".clean.partial", partName(0), signaturesName)); err != nil {
		t.Errorf("finished part has no signature file: %v", err)
	}

	resumed, err := runOnce(ws, -1)
	if err != nil {
		t.Fatal(err)
	}
	checkSameOutput(t, resumed, full)
}

func TestRunExactCopyOfNearDuplicate(t *testing.T) {
	// Near-dedup removes "a-near" as a near-duplicate of "a". Because
	// "a-near-copy" is an exact copy of "a-near", its lineage must end at
	// "a", which the output keeps, and not at the removed "a-near".
	near := changeWord(prose(1, 150), 20)
	docs := []corpus.Document{
		inputDoc("a", prose(1, 150)),
		inputDoc("b", prose(2, 150)),
		inputDoc("c", prose(3, 150)),
		inputDoc("a-near", near),
		inputDoc("a-near-copy", near),
	}
	ws := t.TempDir()
	in := writeInput(t, ws, docs)
	out := filepath.Join(ws, "clean")
	m, err := Run(context.Background(), Options{InDir: in, OutDir: out, Config: DefaultConfig()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	kept, rejected := readOutput(t, out, m)
	survivor := ""
	for _, doc := range kept {
		if doc.URL == "/data/a.txt" {
			survivor = doc.ID
		}
	}
	if survivor == "" {
		t.Fatalf("kept %d documents without /data/a.txt", len(kept))
	}

	found := false
	for _, row := range rejected {
		if row.URL != "/data/a-near-copy.txt" {
			continue
		}
		found = true
		if row.Reason != ReasonDuplicateExact {
			t.Errorf("a-near-copy rejected with reason %s, want %s", row.Reason, ReasonDuplicateExact)
		}
		if row.DedupCluster != survivor {
			t.Errorf("a-near-copy has DedupCluster %s, want the survivor %s", row.DedupCluster, survivor)
		}
		if !strings.Contains(row.Detail, "near-duplicate of kept document "+survivor) {
			t.Errorf("detail %q does not name the survivor", row.Detail)
		}
	}
	if !found {
		t.Errorf("rejected rows %d lack /data/a-near-copy.txt", len(rejected))
	}
}
