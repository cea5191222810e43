package msgfmt

import "testing"

func TestSanitizeHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<b>bold</b> and <i>it</i>`, `<b>bold</b> and <i>it</i>`},
		{`<script>alert(1)</script>hi`, `hi`},
		{`<style>p{}</style><p onclick="x()">para</p>`, `<p>para</p>`},
		{`<a href="javascript:alert(1)">x</a>`, `<a>x</a>`},
		{`<a href="https://example.com/?a=1&b=2" target="_blank">x</a>`, `<a href="https://example.com/?a=1&amp;b=2">x</a>`},
		{`<span style="font-family:Segoe UI;color:#000">SfB text</span>`, `<span>SfB text</span>`},
		{`<blink>old</blink> <img src="http://x/y.png">`, `old `},
		{`<b>unclosed <i>nested`, `<b>unclosed <i>nested</i></b>`},
		{`</b>stray`, `stray`},
		{`1 &lt; 2 &amp;&amp; "q"`, `1 &lt; 2 &amp;&amp; &#34;q&#34;`},
		{`<ol start="3"><li>x</li></ol>`, `<ol start="3"><li>x</li></ol>`},
		{`<script><script></script>text</script>ok`, `textok`},
	} {
		if got := SanitizeHTML(tc.in); got != tc.want {
			t.Errorf("SanitizeHTML(%q)\n got  %q\n want %q", tc.in, got, tc.want)
		}
	}
}

func TestHTMLToPlain(t *testing.T) {
	if got := HTMLToPlain(`<p>Hello <b>world</b></p><p>line 2<br>line 3</p>`); got != "Hello **world**\n\nline 2\nline 3" && got != "Hello world\n\nline 2\nline 3" {
		t.Errorf("HTMLToPlain = %q", got)
	}
	if got := PlainToHTML("a < b\nc"); got != "a &lt; b<br>c" {
		t.Errorf("PlainToHTML = %q", got)
	}
}

func FuzzSanitizeHTML(f *testing.F) {
	for _, s := range []string{`<b>x</b>`, `<script>`, `<a href="x">`, `<<>>`, "<p>\x00</p>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeHTML(in)
		// Sanitizing is idempotent: safe output stays as it is.
		if again := SanitizeHTML(out); again != out {
			t.Fatalf("not idempotent:\n in   %q\n out  %q\n again %q", in, out, again)
		}
	})
}
