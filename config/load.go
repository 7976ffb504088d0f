package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads, checks and validates the config file at path, fills the
// defaults and resolves relative paths against the file's folder.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path, filepath.Dir(path))
}

// Parse decodes data as a config file named name (used in error messages),
// fills the defaults, resolves relative paths against baseDir (left alone
// when baseDir is empty) and validates the result. Empty data gives the
// defaults.
func Parse(data []byte, name, baseDir string) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Msg: err.Error(), Err: ErrSyntax}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Line: extra.Line, Msg: "the file contains more than one YAML document; keep only the first", Err: ErrSyntax}
	}

	// Decoding onto the defaults keeps every value the file leaves out.
	cfg := Default()
	if root.Kind != 0 {
		doc := &root
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			doc = doc.Content[0]
		}
		if err := checkKeys(doc, reflect.TypeOf(*cfg), "", name); err != nil {
			return nil, err
		}
		if err := doc.Decode(cfg); err != nil {
			return nil, &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: "), Err: ErrSyntax}
		}
	}

	cfg.applyDefaults()
	if baseDir != "" {
		cfg.resolvePaths(baseDir)
	}
	if err := cfg.Validate(); err != nil {
		var cerr *Error
		if errors.As(err, &cerr) {
			cerr.File = name
			cerr.Line = lineOf(&root, cerr.Key)
		}
		return nil, err
	}
	return cfg, nil
}

// checkKeys walks node alongside the Go type t and rejects the first
// mapping key that t has no yaml field for. It runs before decoding so the
// error can give the full dotted key, the line, the keys that are allowed
// and where the key belongs when it is a known key of another section.
func checkKeys(node *yaml.Node, t reflect.Type, path, file string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case node.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			field, ok := fields[key.Value]
			if !ok {
				return &Error{
					File: file,
					Line: key.Line,
					Key:  joinKey(path, key.Value),
					Msg:  unknownKeyMessage(key.Value, fields),
					Err:  ErrUnknownKey,
				}
			}
			if err := checkKeys(value, field, joinKey(path, key.Value), file); err != nil {
				return err
			}
		}
	case node.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range node.Content {
			if err := checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), file); err != nil {
				return err
			}
		}
	}
	// Type mismatches (a list where a mapping belongs) are left to the
	// decoder, which reports them with their line.
	return nil
}

// unknownKeyMessage describes the unknown key among the keys of fields,
// with the places where key is a known key when there are any.
func unknownKeyMessage(key string, fields map[string]reflect.Type) string {
	allowed := strings.Join(sortedKeys(fields), ", ")
	if places := knownPlaces(reflect.TypeOf(Config{}), key); len(places) > 0 {
		return fmt.Sprintf("unknown key %q; did you mean %s? Allowed keys here: %s", key, joinOr(places), allowed)
	}
	return fmt.Sprintf("unknown key %q; allowed keys here: %s", key, allowed)
}

// maxKnownPlaces caps the suggestions of an unknown-key error. A key that
// fits more places than this ("name", "path") gets none, because a long
// list would not help.
const maxKnownPlaces = 3

// knownPlaces returns the dotted paths of the keys under struct type root
// that key could mean, such as "collect.domain" for "domain" and "finetune.lora.r" for
// "lora_r" or "lora-r", sorted by section and key. A path matches
// when key, lower-cased and with '-' read as '_', equals its last part or
// its last parts joined by '_'. List items appear as "[]", as in
// "collect.sources[].text_column". It returns nil for more than
// maxKnownPlaces matches.
func knownPlaces(root reflect.Type, key string) []string {
	want := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	var places []string
	walkKeys(root, nil, func(parts []string) {
		for i := len(parts) - 1; i >= 0; i-- {
			if strings.Join(stripLists(parts[i:]), "_") == want {
				places = append(places, strings.Join(parts, "."))
				return
			}
		}
	})
	if len(places) > maxKnownPlaces {
		return nil
	}
	return places
}

// walkKeys calls visit with the key path of every yaml key under struct
// type t, parents before children. A key of a list of structs ends in
// "[]".
func walkKeys(t reflect.Type, parts []string, visit func(parts []string)) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	fields := yamlFields(t)
	for _, name := range sortedKeys(fields) {
		fieldType := fields[name]
		part := name
		elem := fieldType
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if elem.Kind() == reflect.Slice && elem.Elem().Kind() == reflect.Struct {
			part += "[]"
		}
		path := append(append([]string(nil), parts...), part)
		visit(path)
		walkKeys(fieldType, path, visit)
	}
}

// joinOr joins items as "a", "a or b", or "a, b or c".
func joinOr(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// stripLists returns parts without their "[]" list markers.
func stripLists(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSuffix(p, "[]")
	}
	return out
}

// yamlFields maps each yaml key of struct type t to its field type. The
// keys of a field tagged ",inline" count as keys of t, as yaml.v3 decodes
// them.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, options, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if options == "inline" && f.Type.Kind() == reflect.Struct {
			for key, fieldType := range yamlFields(f.Type) {
				fields[key] = fieldType
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lineOf returns the line of the dotted key (as built by checkKeys and
// Validate) in the document under root, or 0 when the key is absent.
func lineOf(root *yaml.Node, key string) int {
	node := root
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if key == "" || node.Kind == 0 {
		return 0
	}
	line := 0
	for _, part := range strings.Split(key, ".") {
		name, indexes := splitIndexes(part)
		found := false
		if node.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(node.Content); i += 2 {
				if node.Content[i].Value == name {
					line = node.Content[i].Line
					node = node.Content[i+1]
					found = true
					break
				}
			}
		}
		if !found {
			return line
		}
		for _, idx := range indexes {
			if node.Kind != yaml.SequenceNode || idx >= len(node.Content) {
				return line
			}
			node = node.Content[idx]
			line = node.Line
		}
	}
	return line
}

// splitIndexes splits "sources[1]" into "sources" and [1].
func splitIndexes(part string) (string, []int) {
	name, rest, ok := strings.Cut(part, "[")
	if !ok {
		return part, nil
	}
	var indexes []int
	for _, s := range strings.Split(strings.TrimSuffix(rest, "]"), "][") {
		var n int
		if _, err := fmt.Sscanf(s, "%d", &n); err == nil {
			indexes = append(indexes, n)
		}
	}
	return name, indexes
}

// resolvePaths makes every relative path in c relative to baseDir.
func (c *Config) resolvePaths(baseDir string) {
	resolve := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, WorkspacePlaceholder) {
			*p = filepath.Join(baseDir, *p)
		}
	}
	resolve(&c.Workspace)
	for i := range c.Collect.Sources {
		if c.Collect.Sources[i].Kind == SourceLocal {
			resolve(&c.Collect.Sources[i].Path)
		}
	}
	resolve(&c.Clean.TerminologyFile)
	resolve(&c.Finetune.BaseModel)
	resolve(&c.Finetune.Replay.Path)
	for i := range c.Eval.Models {
		resolve(&c.Eval.Models[i].Dir)
	}
	for i := range c.Eval.TaskSets {
		resolve(&c.Eval.TaskSets[i].Path)
	}
	resolve(&c.Report.Out)
}
