// Package termtext makes untrusted text safe to print on a terminal. Cluster names, label values
// and error messages come from Prometheus and the API server; printed as they are, an escape
// sequence in one could clear the screen, colour the output or move the cursor, a carriage return
// or line feed could forge a table row, and a bidirectional override could reorder what follows.
// Sanitize shows such characters as visible escapes instead.
package termtext

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Sanitize returns s with every character a terminal would act on instead of print shown as a
// visible escape, the way Go writes it: control characters (C0, DEL, C1) as \n, \r, \t, \x1b or
// \u009b; bidirectional controls and other invisible format characters as \u202e; line and
// paragraph separators as \u2028; each byte of invalid UTF-8 as \xff. Printable ASCII, spaces and
// every other printable character pass unchanged. The result is valid UTF-8, holds no such
// character, and is its own Sanitize.
func Sanitize(s string) string {
	return sanitize(s, false)
}

// Lines is Sanitize keeping line feeds: for a message of several lines of its own, such as an
// error that lists what is missing one per line.
func Lines(s string) string {
	return sanitize(s, true)
}

func sanitize(s string, keepLF bool) string {
	i := 0
	for i < len(s) && (printableASCII(s[i]) || keepLF && s[i] == '\n') {
		i++
	}
	if i == len(s) {
		return s // the common case: nothing to escape, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if printableASCII(c) || keepLF && c == '\n' {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(c))
		case unicode.IsGraphic(r):
			b.WriteString(s[i : i+size])
		default:
			escape(&b, r)
		}
		i += size
	}
	return b.String()
}

// printableASCII reports whether c is a space or a visible ASCII character.
func printableASCII(c byte) bool { return c >= ' ' && c < 0x7f }

// escape writes the visible escape of a rune that is not printed as itself.
func escape(b *strings.Builder, r rune) {
	switch r {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		switch {
		case r < utf8.RuneSelf:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case r <= 0xffff:
			b.WriteString(`\u`)
			b.WriteString(pad(strconv.FormatInt(int64(r), 16), 4))
		default:
			b.WriteString(`\U`)
			b.WriteString(pad(strconv.FormatInt(int64(r), 16), 8))
		}
	}
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

func pad(s string, n int) string {
	return strings.Repeat("0", n-len(s)) + s
}

// JSON returns JSON text as encoding/json writes it with every character a terminal would act on
// written as a \u escape. encoding/json escapes the C0 controls but writes DEL, the C1 controls
// (U+009B is CSI to many terminals), bidirectional controls and other invisible format characters
// as they are, which a terminal then obeys. Outside strings such JSON holds ASCII only, so only
// string contents change, and the text decodes to the same values.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	out = append(out, b[:i]...)
	for i < len(b) {
		if b[i] < 0x7f {
			out = append(out, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1, unicode.IsGraphic(r):
			out = append(out, b[i:i+size]...)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			out = appendU(appendU(out, hi), lo)
		default:
			out = appendU(out, r)
		}
		i += size
	}
	return out
}

// appendU appends r, at most U+FFFF, as a JSON \u escape.
func appendU(b []byte, r rune) []byte {
	return append(b, `\u`+pad(strconv.FormatInt(int64(r), 16), 4)...)
}

// WriteJSON writes v to w as indented JSON, through JSON: what it holds came from a cluster or
// Prometheus, and printed on a terminal it must not drive it.
func WriteJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(JSON(buf.Bytes()))
	return err
}
