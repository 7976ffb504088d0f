package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateLicense(t *testing.T) {
	tests := []struct {
		expr    string
		wantErr string // "" means valid
	}{
		{"MIT", ""},
		{"unknown", ""},
		{"GPL-2.0+", ""},
		{"GPL-2.0-or-later WITH Classpath-exception-2.0", ""},
		{"MIT OR Apache-2.0", ""},
		{"mit or apache-2.0", ""},
		{"(MIT OR Apache-2.0) AND LicenseRef-internal", ""},
		{"((MIT))", ""},
		{"DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", ""},
		{"", "is empty"},
		{"   ", "is empty"},
		{"MIT, or Apache-2.0", `contains ','`},
		{`<img src=x onerror=alert(1)>`, `contains '<'`},
		{"MIT Apache-2.0", `unexpected "Apache-2.0"`},
		{"MIT OR", "ends where a license id is expected"},
		{"AND MIT", `"AND" where a license id is expected`},
		{"(MIT OR Apache-2.0", "missing ')'"},
		{"MIT)", `unexpected ")"`},
		{"()", `")" where a license id is expected`},
		{"GPL-2.0 WITH", "WITH needs an exception id"},
		{"GPL-2.0 WITH OR", `"OR" is not a license exception id`},
		{"LicenseRef-x:MIT", "not a reference of the form"},
		{"MIT++", `"MIT++" is not a license id`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			err := ValidateLicense(tt.expr)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("got error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.expr) {
				t.Errorf("got error %q, want it to name the value %q", err, tt.expr)
			}
		})
	}
}

func FuzzValidateLicense(f *testing.F) {
	for _, seed := range []string{"MIT", "(MIT OR Apache-2.0) AND LicenseRef-x", "GPL-2.0+ WITH Bison-exception-2.2", "MIT, or", "((", "DocumentRef-a:LicenseRef-b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		err := ValidateLicense(expr)
		if err == nil && strings.TrimSpace(expr) == "" {
			t.Errorf("ValidateLicense(%q) accepted an empty expression", expr)
		}
		// Wrapping a valid expression in parentheses keeps it valid.
		if err == nil {
			if err := ValidateLicense("(" + expr + ")"); err != nil {
				t.Errorf("ValidateLicense(%q) is valid but its parenthesized form is not: %v", expr, err)
			}
		}
	})
}

func TestParseInvalidLicense(t *testing.T) {
	yaml := "collect:\n  sources:\n    - path: /data\n      license: 'MIT, or Apache-2.0'\n"
	_, err := Parse([]byte(yaml), "a.yaml", "")
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got error %v, want a *config.Error", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("got error %v, want it to wrap ErrInvalid", err)
	}
	if got, want := cerr.Key, "collect.sources[0].license"; got != want {
		t.Errorf("got key %q, want %q", got, want)
	}
	if got, want := cerr.Line, 4; got != want {
		t.Errorf("got line %d, want %d", got, want)
	}
	if !strings.Contains(err.Error(), "MIT, or Apache-2.0") {
		t.Errorf("got error %q, want it to name the value", err)
	}
}

func TestParseWorkspacePlaceholder(t *testing.T) {
	yaml := "eval:\n  models:\n    - name: tuned\n      dir: ${workspace}/finetune/model\n"
	cfg, err := Parse([]byte(yaml), "a.yaml", "/etc/adapt")
	if err != nil {
		t.Fatal(err)
	}
	dir := cfg.Eval.Models[0].Dir
	if got, want := dir, "${workspace}/finetune/model"; got != want {
		t.Errorf("got dir %q after Parse, want %q left unresolved", got, want)
	}
	if got, want := ExpandWorkspace(dir, "/tmp/ws8"), filepath.Join("/tmp/ws8", "finetune", "model"); got != want {
		t.Errorf("got ExpandWorkspace %q, want %q", got, want)
	}
	if got, want := ExpandWorkspace("/models/base", "/tmp/ws8"), "/models/base"; got != want {
		t.Errorf("got ExpandWorkspace %q, want %q unchanged", got, want)
	}
}
