package config

import (
	"fmt"
	"strings"
)

// ValidateLicense checks that expr is a syntactically valid SPDX license
// expression, such as "MIT", "GPL-2.0-or-later WITH Classpath-exception-2.0"
// or "(MIT OR Apache-2.0) AND LicenseRef-internal", or the word "unknown"
// that adapt writes when a license is not known. It returns an error that
// names expr and the first problem.
//
// The check follows the grammar of SPDX 3.0.1, Annex "SPDX license
// expressions": identifiers of letters, digits, '.' and '-' with an
// optional '+' suffix, LicenseRef- and DocumentRef-...:LicenseRef-
// references, the operators AND, OR and WITH (all upper or all lower case),
// and parentheses.
// NOTE: it does not check identifiers against the SPDX License List, so
// "MTI" passes.
func ValidateLicense(expr string) error {
	tokens, err := licenseTokens(expr)
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		return fmt.Errorf("license expression %q is empty; use an SPDX id such as MIT or \"unknown\"", expr)
	}

	p := &licenseParser{expr: expr, tokens: tokens}
	if err := p.parseOr(); err != nil {
		return err
	}
	if p.pos < len(p.tokens) {
		return p.errorf("unexpected %q", p.tokens[p.pos])
	}
	return nil
}

// licenseTokens splits expr into parentheses and whitespace-separated
// words, and rejects characters that no SPDX expression contains.
func licenseTokens(expr string) ([]string, error) {
	var tokens []string
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			tokens = append(tokens, word.String())
			word.Reset()
		}
	}
	for _, r := range expr {
		switch {
		case r == ' ' || r == '\t':
			flush()
		case r == '(' || r == ')':
			flush()
			tokens = append(tokens, string(r))
		case isIDChar(r) || r == '+' || r == ':':
			word.WriteRune(r)
		default:
			return nil, fmt.Errorf("license expression %q contains %q; SPDX expressions use ids of letters, digits, '.', '-' and '+', joined by AND, OR, WITH and parentheses", expr, r)
		}
	}
	flush()
	return tokens, nil
}

func isIDChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-'
}

// licenseParser is a recursive-descent parser over the tokens of one
// expression. OR binds looser than AND, which binds looser than WITH.
type licenseParser struct {
	expr   string
	tokens []string
	pos    int
}

func (p *licenseParser) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid license expression %q: %s", p.expr, fmt.Sprintf(format, args...))
}

// operator reports whether the next token is the operator op in upper or
// lower case, and consumes it when it is.
func (p *licenseParser) operator(op string) bool {
	if p.pos < len(p.tokens) && (p.tokens[p.pos] == op || p.tokens[p.pos] == strings.ToLower(op)) {
		p.pos++
		return true
	}
	return false
}

func (p *licenseParser) parseOr() error {
	if err := p.parseAnd(); err != nil {
		return err
	}
	for p.operator("OR") {
		if err := p.parseAnd(); err != nil {
			return err
		}
	}
	return nil
}

func (p *licenseParser) parseAnd() error {
	if err := p.parseTerm(); err != nil {
		return err
	}
	for p.operator("AND") {
		if err := p.parseTerm(); err != nil {
			return err
		}
	}
	return nil
}

// parseTerm parses "( expression )" or a license with an optional WITH
// exception.
func (p *licenseParser) parseTerm() error {
	if p.pos == len(p.tokens) {
		return p.errorf("it ends where a license id is expected")
	}
	if p.tokens[p.pos] == "(" {
		p.pos++
		if err := p.parseOr(); err != nil {
			return err
		}
		if p.pos == len(p.tokens) || p.tokens[p.pos] != ")" {
			return p.errorf("missing ')'")
		}
		p.pos++
		return nil
	}

	if err := p.parseLicense(); err != nil {
		return err
	}
	if p.operator("WITH") {
		if p.pos == len(p.tokens) {
			return p.errorf("WITH needs an exception id after it")
		}
		exception := p.tokens[p.pos]
		if !isIDString(exception) || isOperator(exception) {
			return p.errorf("%q is not a license exception id", exception)
		}
		p.pos++
	}
	return nil
}

// parseLicense parses a license id or reference with an optional '+'.
func (p *licenseParser) parseLicense() error {
	token := p.tokens[p.pos]
	if isOperator(token) || token == ")" {
		return p.errorf("%q where a license id is expected", token)
	}

	id := strings.TrimSuffix(token, "+")
	if doc, ref, ok := strings.Cut(id, ":"); ok {
		docID, isDoc := strings.CutPrefix(doc, "DocumentRef-")
		refID, isRef := strings.CutPrefix(ref, "LicenseRef-")
		if !isDoc || !isRef || !isIDString(docID) || !isIDString(refID) {
			return p.errorf("%q is not a reference of the form DocumentRef-ID:LicenseRef-ID", token)
		}
	} else if !isIDString(id) {
		return p.errorf("%q is not a license id", token)
	}
	p.pos++
	return nil
}

// isIDString reports whether s matches SPDX's idstring: one or more
// letters, digits, '.' and '-'.
func isIDString(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isIDChar(r) {
			return false
		}
	}
	return true
}

func isOperator(s string) bool {
	switch s {
	case "AND", "OR", "WITH", "and", "or", "with":
		return true
	}
	return false
}
