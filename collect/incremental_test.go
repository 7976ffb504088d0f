package collect

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapt-llm/adapt/corpus"
)

func TestIncrementalCollect(t *testing.T) {
	src := t.TempDir()
	out := filepath.Join(t.TempDir(), "collect")
	keep := writeFile(t, src, "keep.txt", "unchanged text")
	edit := writeFile(t, src, "edit.jsonl", "{\"text\":\"old record\"}\n")
	gone := writeFile(t, src, "gone.txt", "to be deleted")
	opts := Options{Sources: []Source{{Path: src}}, Domain: "legal", OutDir: out, ToolVersion: "test"}
	if _, err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	first := readDocs(t, out)

	writeFile(t, src, "edit.jsonl", "{\"text\":\"new record\"}\n")
	added := writeFile(t, src, "added.txt", "a new file")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	m, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}

	changes, err := ReadChanges(out)
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct {
		name string
		got  ChangeSet
		want []string
		stat string
	}{
		{"new", changes.New, []string{added}, "files_new"},
		{"changed", changes.Changed, []string{edit}, "files_changed"},
		{"unchanged", changes.Unchanged, []string{keep}, "files_unchanged"},
		{"gone", changes.Gone, []string{gone}, "files_gone"},
	}
	for _, s := range sets {
		if got, want := strings.Join(s.got.Paths, ","), strings.Join(s.want, ","); got != want || s.got.Count != len(s.want) {
			t.Errorf("%s: got %d %q, want %q", s.name, s.got.Count, got, want)
		}
		if got := m.Stats[s.stat]; got != float64(len(s.want)) {
			t.Errorf("Stats[%s]: got %g, want %d", s.stat, got, len(s.want))
		}
	}
	if !changes.Reused {
		t.Error("Reused: got false, want true")
	}

	second := readDocs(t, out)
	byURL := func(docs []corpus.Document) map[string]corpus.Document {
		out := map[string]corpus.Document{}
		for _, d := range docs {
			key := d.URL
			if p := d.Meta["path"]; p != "" {
				key = p
			}
			out[key] = d
		}
		return out
	}
	before, after := byURL(first), byURL(second)
	if got, want := after[keep].CollectedAt, before[keep].CollectedAt; !got.Equal(want) {
		t.Errorf("unchanged file collected_at: got %v, want the first run's %v (reused row)", got, want)
	}
	if got := after[edit].Text; got != "new record" {
		t.Errorf("changed file text: got %q, want %q", got, "new record")
	}
	if _, ok := after[gone]; ok {
		t.Error("deleted file still has a document")
	}
	if got := after[added].Text; got != "a new file" {
		t.Errorf("added file text: got %q, want %q", got, "a new file")
	}

	t.Run("other settings are not reused", func(t *testing.T) {
		opts := opts
		opts.Domain = "medical"
		if _, err := Run(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		changes, err := ReadChanges(out)
		if err != nil {
			t.Fatal(err)
		}
		if changes.Reused || changes.Unchanged.Count != 3 {
			t.Errorf("got reused=%v unchanged=%d, want false and 3", changes.Reused, changes.Unchanged.Count)
		}
		for _, d := range readDocs(t, out) {
			if d.Domain != "medical" {
				t.Errorf("%s: domain %q, want medical", d.URL, d.Domain)
			}
		}
	})
}

func readDocs(t *testing.T, dir string) []corpus.Document {
	t.Helper()
	paths, err := corpus.ListShards(dir)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := corpus.Collect(corpus.ReadShards(paths...))
	if err != nil {
		t.Fatal(err)
	}
	return docs
}
