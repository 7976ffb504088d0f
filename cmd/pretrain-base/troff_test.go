package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTroffToText(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"comment dropped", ".\\\" Copyright 2020\nhello\n", "hello\n"},
		{"heading", ".SH NAME\nls \\- list directory contents\n", "NAME\nls - list directory contents\n"},
		{"font escapes", "Use \\fB\\-a\\fR or \\fI\\,FILE\\/\\fR.\n", "Use -a or FILE.\n"},
		{"alternating fonts", ".BR ls (1)\n", "ls(1)\n"},
		{"paragraph break", "one\n.PP\ntwo\n", "one\n\ntwo\n"},
		{"named characters", "a \\(em b \\[lq]c\\[rq]\n", "a - b \"c\"\n"},
		{"mdoc flags", ".Op Fl b Ar bind_address\n", "-b bind_address\n"},
		{"title dropped", ".TH LS 1 \"2022\"\ntext\n", "text\n"},
		{"eqn skipped", ".EQ\nx sup 2\n.EN\nafter\n", "after\n"},
		{"size escape", "\\s-1SMALL\\s0 text\n", "SMALL text\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := troffToText(tc.src)
			if got != tc.want {
				t.Errorf("troffToText(%q)\n got %q\nwant %q", tc.src, got, tc.want)
			}
		})
	}
}

func FuzzTroffToText(f *testing.F) {
	f.Add(".SH NAME\nls \\- list\n")
	f.Add("\\f(CWcode\\fP \\s[+2]x\\s0 \\h'1m' \\[")
	f.Add(".Op Fl \"quoted arg\" \\\" comment")
	f.Fuzz(func(t *testing.T, src string) {
		got := troffToText(src)
		if utf8.ValidString(src) && !utf8.ValidString(got) {
			t.Errorf("valid UTF-8 input gave invalid output %q", got)
		}
		if strings.Contains(got, "\n\n\n") {
			t.Errorf("output has more than one blank line in a row: %q", got)
		}
	})
}
