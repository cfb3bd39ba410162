package termtext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"shop_checkout_8080", "shop_checkout_8080"},
		{`odd "name" \ here`, `odd "name" \ here`},
		{"café ☕ 日本語 — ok", "café ☕ 日本語 — ok"},
		{"a\u00a0b", "a\u00a0b"}, // a no-break space is a space
		{"\x1b[2J\x1b[31mred", `\x1b[2J\x1b[31mred`},
		{"row\r\nfake 1.0 100%", `row\r\nfake 1.0 100%`},
		{"tab\there", `tab\there`},
		{"bell\a", `bell\a`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"\u2066isolate\u2069", `\u2066isolate\u2069`},
		{"\u200emark\u200f", `\u200emark\u200f`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"cut \xe2\x82", `cut \xe2\x82`},
		{"tag \U000e0041", `tag \U000e0041`},
	} {
		if got := Sanitize(tc.in); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLinesKeepsLineFeeds(t *testing.T) {
	in := "nothing was applied. Missing:\n  - get pods\x1b[2K\r"
	want := "nothing was applied. Missing:\n  - get pods\\x1b[2K\\r"
	if got := Lines(in); got != want {
		t.Errorf("Lines(%q) = %q, want %q", in, got, want)
	}
}

func TestSanitizeDoesNotAllocateForPlainText(t *testing.T) {
	s := strings.Repeat("shop_checkout-primary_8080 ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = Sanitize(s) }); n != 0 {
		t.Errorf("Sanitize of printable ASCII allocates %v times", n)
	}
}

// FuzzSanitize checks that whatever comes in, what goes out prints as text: valid UTF-8 without
// control, format or separator characters, unchanged by a second pass, and printable ASCII
// untouched.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "a\r\nb", "\u202e", "\xff", "\u0085", "日本\u2069", `\x1b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s)
		checkPrintable(t, s, out, false)
		checkPrintable(t, s, Lines(s), true)
		if again := Sanitize(out); again != out {
			t.Fatalf("%q: not idempotent: %q then %q", s, out, again)
		}
		if lines := Lines(s); Lines(lines) != lines {
			t.Fatalf("%q: Lines not idempotent: %q", s, lines)
		}
		ascii := true
		for i := 0; i < len(s); i++ {
			ascii = ascii && s[i] >= ' ' && s[i] < 0x7f
		}
		if ascii && out != s {
			t.Fatalf("printable ASCII %q changed to %q", s, out)
		}
	})
}

// checkPrintable fails unless out is valid UTF-8 of printable characters and spaces only, line
// feeds too when lf.
func checkPrintable(t *testing.T, in, out string, lf bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%q: not valid UTF-8: %q", in, out)
	}
	for _, r := range out {
		if lf && r == '\n' {
			continue
		}
		if !unicode.IsGraphic(r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Fatalf("%q: output %q holds %U", in, out, r)
		}
	}
}
