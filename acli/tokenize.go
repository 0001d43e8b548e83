// Package acli is the ACLI configuration shell: tokenizer, mode tree,
// resolver (abbreviation, completion and ? help from the schema), commands,
// the script runner and the line readers.
package acli

import (
	"fmt"
	"strings"
)

// Token is one word of a command line: a bare word, a quoted string, or a
// parenthesised list.
type Token struct {
	Text   string   // the word, unquoted; "" for a list
	Quoted bool     // written in double quotes
	List   bool     // written as (a b c)
	Items  []string // list items
	Pos    int      // byte offset of the token in the line
}

// Items returns the token's value items: a list's items, or the word itself.
func (t Token) values() []string {
	if t.List {
		return t.Items
	}
	return []string{t.Text}
}

// Tokenize splits a command line. Double quotes group words (a backslash
// escapes a quote or a backslash inside them); parentheses make a list whose
// items are words or quoted strings. It reports unterminated quotes and
// unbalanced parentheses.
func Tokenize(line string) ([]Token, error) {
	toks, _, err := tokenize(line)
	return toks, err
}

// tokenize also reports whether the line ends inside a word (no trailing
// space), which completion needs.
func tokenize(line string) (toks []Token, partial bool, err error) {
	i := 0
	n := len(line)
	toks = make([]Token, 0, 4)
	var cur *Token // open list
	for i < n {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			partial = false
			continue
		case c == '(':
			if cur != nil {
				return toks, false, fmt.Errorf("nested '(' at column %d: lists cannot contain lists", i+1)
			}
			cur = &Token{List: true, Pos: i, Items: []string{}}
			i++
			partial = false
			continue
		case c == ')':
			if cur == nil {
				return toks, false, fmt.Errorf("unbalanced ')' at column %d", i+1)
			}
			toks = append(toks, *cur)
			cur = nil
			i++
			partial = false
			continue
		}
		start := i
		var word string
		if c == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < n {
				if line[i] == '\\' && i+1 < n && (line[i+1] == '"' || line[i+1] == '\\') {
					b.WriteByte(line[i+1])
					i += 2
					continue
				}
				if line[i] == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(line[i])
				i++
			}
			if !closed {
				return toks, false, fmt.Errorf("unterminated quoted string starting at column %d", start+1)
			}
			word = b.String()
			if cur != nil {
				cur.Items = append(cur.Items, word)
			} else {
				toks = append(toks, Token{Text: word, Quoted: true, Pos: start})
			}
			partial = false
			continue
		}
		for i < n && !wordEnd[line[i]] {
			i++
		}
		word = line[start:i]
		if cur != nil {
			cur.Items = append(cur.Items, word)
		} else {
			toks = append(toks, Token{Text: word, Pos: start})
		}
		partial = true
	}
	if cur != nil {
		return append(toks, *cur), false, fmt.Errorf("unbalanced '(' at column %d: close the list with ')'", cur.Pos+1)
	}
	return toks, partial, nil
}

// wordEnd marks the bytes that end a bare word.
var wordEnd = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, '(': true, ')': true, '"': true}

// quote renders a value so that Tokenize reads it back as one word.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"()\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
