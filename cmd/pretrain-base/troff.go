package main

import (
	"strings"
	"unicode"
)

// troffToText turns a man page in troff source (man(7) or mdoc(7) macros)
// into plain text. Comments and requests without text are dropped, and the
// text arguments of font, heading and list macros are kept. Escape sequences
// become the characters they print, or nothing. It follows groff(7) and
// groff_man(7) (groff 1.22) closely enough for training text, not for
// typesetting.
//
// NOTE: tbl, eqn and pic preprocessor blocks pass through as their raw cell
// text, and conditional requests (.if, .ie, .el) are dropped whole, so text
// inside them is lost.
func troffToText(src string) string {
	var out strings.Builder
	blank := true // the last line written was empty, or nothing was written
	emit := func(line string) {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			if !blank {
				out.WriteByte('\n')
				blank = true
			}
			return
		}
		out.WriteString(line)
		out.WriteByte('\n')
		blank = false
	}

	skipping := "" // the request that ends a block being skipped, such as ".EN"
	for raw := range strings.SplitSeq(src, "\n") {
		line := strings.TrimRight(raw, "\r")
		if skipping != "" {
			if strings.HasPrefix(line, skipping) {
				skipping = ""
			}
			continue
		}
		if len(line) == 0 {
			emit("")
			continue
		}
		if line[0] != '.' && line[0] != '\'' {
			emit(unescape(line))
			continue
		}

		name, args := splitRequest(line[1:])
		switch name {
		case "", `\"`:
			// Empty request or comment.
		case "EQ", "PS", "de", "am", "ig":
			skipping = map[string]string{"EQ": ".EN", "PS": ".PE", "de": "..", "am": "..", "ig": ".."}[name]
		case "SH", "SS", "Sh", "Ss":
			emit("")
			emit(unescape(strings.Join(args, " ")))
		case "PP", "LP", "P", "Pp", "sp", "TP", "HP", "Bl", "El", "RS", "RE", "Lp":
			emit("")
		case "IP", "It":
			emit("")
			if text := mdocText(args); text != "" {
				emit(unescape(text))
			}
		case "B", "I", "SM", "SB", "Nd", "Dl", "D1":
			emit(unescape(strings.Join(args, " ")))
		case "BR", "RB", "BI", "IB", "IR", "RI":
			// Alternating-font macros print their arguments with no space.
			emit(unescape(strings.Join(args, "")))
		default:
			if isMdocMacro(name) {
				if text := mdocText(args); text != "" {
					emit(unescape(mdocPrefix(name) + text))
				}
			}
			// Any other request (.TH, .ft, .ne, .if, ...) carries no prose.
		}
	}
	return strings.TrimSpace(out.String()) + "\n"
}

// splitRequest splits the text after a control character into the request
// name and its arguments, honoring double quotes.
func splitRequest(s string) (string, []string) {
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, `\"`) {
		return `\"`, nil
	}
	var fields []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '"' && !inQuote:
			i = len(s) // comment to end of line
		case c == '"':
			inQuote, have = !inQuote, true
		case (c == ' ' || c == '\t') && !inQuote:
			if have {
				fields = append(fields, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		fields = append(fields, cur.String())
	}
	if len(fields) == 0 {
		return "", nil
	}
	return fields[0], fields[1:]
}

// isMdocMacro reports whether name looks like an mdoc(7) macro: an upper-case
// letter followed by one or two lower-case letters (Nm, Fl, Ar, Xr, ...).
func isMdocMacro(name string) bool {
	if len(name) < 2 || len(name) > 3 || !unicode.IsUpper(rune(name[0])) {
		return false
	}
	for _, c := range name[1:] {
		if !unicode.IsLower(c) {
			return false
		}
	}
	return true
}

// mdocDropped lists mdoc(7) macros whose own line holds no prose.
var mdocDropped = map[string]bool{"Dd": true, "Dt": true, "Os": true, "Bd": true, "Ed": true, "Bf": true, "Ef": true, "Bk": true, "Ek": true}

// mdocPrefix returns the text an mdoc macro prints before its arguments.
func mdocPrefix(name string) string {
	if name == "Fl" {
		return "-"
	}
	return ""
}

// mdocText joins the arguments of an mdoc line, dropping callable macro
// names that appear as arguments (".Op Fl b Ar address" prints "-b address").
func mdocText(args []string) string {
	var words []string
	for _, a := range args {
		switch {
		case a == "Fl":
			words = append(words, "-")
		case isMdocMacro(a) || mdocDropped[a]:
		default:
			if n := len(words); n > 0 && words[n-1] == "-" {
				words[n-1] = "-" + a
				continue
			}
			words = append(words, a)
		}
	}
	return strings.Join(words, " ")
}

// namedChars maps groff special character names (\(xx and \[name]) to the
// text they print; unknown names print nothing.
var namedChars = map[string]string{
	"em": "-", "en": "-", "hy": "-", "mi": "-", "aq": "'", "dq": `"`,
	"lq": `"`, "rq": `"`, "oq": "'", "cq": "'", "bu": "*", "co": "(c)",
	"rg": "(R)", "tm": "(TM)", "ti": "~", "ha": "^", "rs": `\`, "sl": "/",
	"ga": "`", "aa": "'", "lh": "", "rh": "", "de": " degrees", "mu": "x",
	"<=": "<=", ">=": ">=", "!=": "!=", "->": "->", "<-": "<-", "pl": "+",
	"eq": "=", "or": "|", "ba": "|", "at": "@", "sh": "#", "Do": "$",
	"lB": "[", "rB": "]", "lC": "{", "rC": "}", "la": "<", "ra": ">",
}

// unescape replaces troff escape sequences in one line of text.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '"': // comment to end of line
			return b.String()
		case 'e', '\\':
			b.WriteByte('\\')
		case '-':
			b.WriteByte('-')
		case ' ', '~', '0':
			b.WriteByte(' ')
		case '&', '|', '^', ')', '/', ',', 'c', '%', ':', '{', '}', 'p', 'r', 'd', 'u', 'a', 't':
			// Zero-width or motion escapes print nothing here.
		case '.':
			b.WriteByte('.')
		case '\'':
			b.WriteByte('\'')
		case '`':
			b.WriteByte('`')
		case '(':
			if i+2 < len(s) {
				b.WriteString(namedChars[s[i+1:i+3]])
				i += 2
			} else {
				i = len(s)
			}
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return b.String()
			}
			b.WriteString(namedChars[s[i+1:i+end]])
			i += end
		case 'f', 'F', 'n', 'g', 'k', 'm', '*', 'Y', 'V', '$':
			// Font, register, string and macro-argument escapes take a
			// one-character name, a (xx name or a [name].
			i = skipName(s, i+1) - 1
		case 's':
			// Size change: \s+N, \s-N, \sN, \s(NN, \s[N].
			j := i + 1
			if j < len(s) && (s[j] == '+' || s[j] == '-') {
				j++
			}
			if j < len(s) && (s[j] == '(' || s[j] == '[') {
				i = skipName(s, j) - 1
			} else {
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				i = j - 1
			}
		case 'h', 'v', 'w', 'o', 'l', 'L', 'D', 'X', 'b', 'x', 'A', 'B', 'C', 'N', 'R', 'S', 'Z', 'H':
			// Escapes with a delimited argument: \h'1m', \w'text'.
			if i+1 < len(s) {
				delim := s[i+1]
				end := strings.IndexByte(s[i+2:], delim)
				if end < 0 {
					return b.String()
				}
				i += 2 + end
			}
		default:
			b.WriteByte(e)
		}
	}
	return b.String()
}

// skipName returns the index just past an escape's name starting at s[i]:
// one character, "(xx" or "[name]".
func skipName(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '(':
		return min(i+3, len(s))
	case '[':
		end := strings.IndexByte(s[i:], ']')
		if end < 0 {
			return len(s)
		}
		return i + end + 1
	default:
		return i + 1
	}
}
