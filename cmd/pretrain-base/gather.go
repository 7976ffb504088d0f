package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/adapt-llm/adapt/corpus"
)

// textDoc is one gathered document.
type textDoc struct {
	ID     string // corpus.HashText of Text
	Source string // the file it was read from
	Text   string
}

// maxFileBytes skips files larger than this after decompression (16 MiB):
// no README or man page comes close, so a larger one is data, not prose.
const maxFileBytes = 16 << 20

// minDocBytes drops documents shorter than this (64 bytes), which are
// mostly one-line READMEs or man pages that only point elsewhere.
const minDocBytes = 64

// gatherDocs reads README files and other docs (README*, *.md, *.txt, each
// optionally gzipped) under docRoot and English man pages (manroot/man*/)
// under manRoot, in sorted path order. It skips license and copyright files,
// symbolic links, man pages that only include another (".so"), files that
// are not valid UTF-8 and exact duplicates.
func gatherDocs(docRoot, manRoot string, logger *slog.Logger) ([]textDoc, error) {
	var docs []textDoc
	seen := map[string]bool{}
	add := func(path, text string) {
		text = strings.TrimSpace(text)
		if len(text) < minDocBytes {
			return
		}
		id := corpus.HashText(text)
		if seen[id] {
			return
		}
		seen[id] = true
		docs = append(docs, textDoc{ID: id, Source: path, Text: text})
	}

	docPaths, err := listFiles(docRoot, isDocFile)
	if err != nil {
		return nil, err
	}
	var docBytes int64
	for _, path := range docPaths {
		text, ok, err := readText(path)
		if err != nil {
			return nil, err
		}
		if ok {
			docBytes += int64(len(text))
			add(path, text)
		}
	}
	nDoc := len(docs)
	logger.Info("gathered documentation files", "root", docRoot, "files", len(docPaths), "documents", nDoc, "bytes", docBytes)

	manPaths, err := listFiles(manRoot, isEnglishManPage(manRoot))
	if err != nil {
		return nil, err
	}
	var manBytes int64
	for _, path := range manPaths {
		src, ok, err := readText(path)
		if err != nil {
			return nil, err
		}
		if !ok || strings.HasPrefix(src, ".so ") {
			continue
		}
		text := troffToText(src)
		manBytes += int64(len(text))
		add(path, text)
	}
	logger.Info("gathered man pages", "root", manRoot, "files", len(manPaths), "documents", len(docs)-nDoc, "bytes", manBytes)
	return docs, nil
}

// listFiles returns the regular files under root for which keep returns
// true, sorted by path. A missing root gives no files.
func listFiles(root string, keep func(path string) bool) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) || os.IsPermission(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && keep(path) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	slices.Sort(paths)
	return paths, nil
}

// isDocFile reports whether path is a README, Markdown or text file and not
// a license or copyright notice.
func isDocFile(path string) bool {
	name := strings.TrimSuffix(filepath.Base(path), ".gz")
	lower := strings.ToLower(name)
	for _, word := range []string{"copying", "copyright", "license", "licence", "notice", "authors", "credits"} {
		if strings.Contains(lower, word) {
			return false
		}
	}
	return strings.HasPrefix(lower, "readme") || strings.HasSuffix(lower, ".md") || strings.HasSuffix(lower, ".txt")
}

// isEnglishManPage returns a filter for files in root/man<section>/, the
// untranslated pages; translations live in root/<lang>/.
func isEnglishManPage(root string) func(string) bool {
	return func(path string) bool {
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return false
		}
		dir, _, ok := strings.Cut(rel, string(filepath.Separator))
		return ok && strings.HasPrefix(dir, "man")
	}
}

// readText returns the file's text, gunzipping names ending in .gz. ok is
// false for files that are too large or not valid UTF-8.
func readText(path string) (text string, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsPermission(err) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()

	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return "", false, nil // not gzip after all: skip it
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil || len(data) > maxFileBytes {
		return "", false, nil // truncated gzip or too large: skip it
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return "", false, nil
	}
	return string(data), true, nil
}
