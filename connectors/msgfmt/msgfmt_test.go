package msgfmt

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestSanitizeHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<b>bold</b> and <i>it</i>`, `<b>bold</b> and <i>it</i>`},
		{`<script>alert(1)</script>hi`, `hi`},
		{`<style>p{}</style><p onclick="x()">para</p>`, `<p>para</p>`},
		// A link without a safe target is only its text.
		{`<a href="javascript:alert(1)">x</a>`, `x`},
		{`<a href="JaVaScRiPt:alert(1)">x</a>`, `x`},
		{`<a href=" javascript:alert(1)">x</a>`, `x`},
		{`<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`, `x`},
		{`<a href="vbscript:msgbox(1)">x</a>`, `x`},
		{`<a href="/relative">x</a>`, `x`},
		{`<a href="mxc://example.org/abc">x</a>`, `x`},
		{`<a href="https://example.com/?a=1&b=2" target="_blank">x</a>`, `<a href="https://example.com/?a=1&amp;b=2" target="_blank">x</a>`},
		{`<a href="mailto:alice@example.org">mail</a>`, `<a href="mailto:alice@example.org">mail</a>`},
		{`<a href="magnet:?xt=urn:btih:abc">m</a>`, `<a href="magnet:?xt=urn:btih:abc">m</a>`},
		{`<a href="ftp://ftp.example.org/f">f</a>`, `<a href="ftp://ftp.example.org/f">f</a>`},
		{`<a name="top">anchor</a>`, `<a name="top">anchor</a>`},
		{`<span style="font-family:Segoe UI;color:#000">SfB text</span>`, `<span>SfB text</span>`},
		{`<span data-mx-color="#ff0000" data-mx-bg-color="#00ff00">c</span>`, `<span data-mx-color="#ff0000" data-mx-bg-color="#00ff00">c</span>`},
		{`<span data-mx-color="red;background:url(x)">c</span>`, `<span>c</span>`},
		{`<span data-mx-spoiler="the end">hidden</span>`, `<span data-mx-spoiler="the end">hidden</span>`},
		{`<font color="#123456" face="Arial">f</font>`, `<font color="#123456">f</font>`},
		{`<div data-mx-maths="x^2">x²</div>`, `<div data-mx-maths="x^2">x²</div>`},
		// Images: only mxc:// sources; an image without one is dropped.
		{`<blink>old</blink> <img src="http://x/y.png">`, `old `},
		{`<img src="mxc://example.org/abc" alt="pic" width="10" height="20" onerror="x()">`, `<img src="mxc://example.org/abc" alt="pic" width="10" height="20">`},
		{`<img src="mxc://example.org/a/b">`, ``},
		{`<img src="data:image/png;base64,AAAA">`, ``},
		{`<b>unclosed <i>nested`, `<b>unclosed <i>nested</i></b>`},
		{`</b>stray`, `stray`},
		{`<b><i>crossed</b></i>`, `<b><i>crossed</i></b>`},
		{`1 &lt; 2 &amp;&amp; "q"`, `1 &lt; 2 &amp;&amp; &#34;q&#34;`},
		{`<ol start="3"><li>x</li></ol>`, `<ol start="3"><li>x</li></ol>`},
		{`<ol start="-1;x"><li>x</li></ol>`, `<ol><li>x</li></ol>`},
		{`<code class="language-go">x</code>`, `<code class="language-go">x</code>`},
		{`<code class="evil language-go">x</code>`, `<code>x</code>`},
		{`<pre class="language-go">x</pre>`, `<pre>x</pre>`},
		{`<script><script></script>text</script>ok`, `textok`},
		{`<textarea><b>no</b></textarea>yes`, `yes`},
		{`<svg><script>alert(1)</script></svg>ok`, `ok`},
		{`a<br/>b<br>c<hr/>`, `a<br>b<br>c<hr>`},
		{`<!-- comment -->text`, `text`},
		{`<strike>old</strike>`, `old`},
		{`<details><summary>More</summary>body</details>`, `<details><summary>More</summary>body</details>`},
		// The fuzzer's find (testdata/fuzz/FuzzSanitizeHTML): a self-closing
		// <a/> came out as "<a>", which the next pass closed.
		{`<A/>`, ``},
		{`<a href="https://x.example"/>t`, `<a href="https://x.example">t</a>`},
		{`<b/>x`, `<b>x</b>`},
	} {
		got := SanitizeHTML(tc.in)
		if got != tc.want {
			t.Errorf("SanitizeHTML(%q)\n got  %q\n want %q", tc.in, got, tc.want)
		}
		if err := checkMatrixSafe(got); err != nil {
			t.Errorf("SanitizeHTML(%q) = %q: %v", tc.in, got, err)
		}
	}
}

// TestSafetyCheckerCatches makes sure the fuzz target's checker is not
// vacuous: each of these must be rejected.
func TestSafetyCheckerCatches(t *testing.T) {
	for _, bad := range []string{
		`<script>alert(1)</script>`,
		`<a href="javascript:alert(1)">x</a>`,
		`<a href="data:text/html,x">x</a>`,
		`<a href="mxc://example.org/x">x</a>`,
		`<img src="https://example.org/x.png">`,
		`<b onclick="x()">x</b>`,
		`<code class="x">x</code>`,
		`<iframe src="https://example.org"></iframe>`,
		`<span style="color:red">x</span>`,
		`<b>unclosed`,
	} {
		if checkMatrixSafe(bad) == nil {
			t.Errorf("checkMatrixSafe(%q) accepted it", bad)
		}
	}
	if err := checkMatrixSafe(`<a href="https://example.org">x</a><img src="mxc://example.org/a">`); err != nil {
		t.Errorf("checkMatrixSafe rejected safe HTML: %v", err)
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

// TestSanitizeHTMLDepth: elements nested past maxDepth are unwrapped, text
// kept, and the result is stable.
func TestSanitizeHTMLDepth(t *testing.T) {
	in := strings.Repeat("<i>", maxDepth+50) + "x" + strings.Repeat("</i>", maxDepth+50) + "<b>after</b>"
	want := strings.Repeat("<i>", maxDepth) + "x" + strings.Repeat("</i>", maxDepth) + "<b>after</b>"
	got := SanitizeHTML(in)
	if got != want {
		t.Errorf("SanitizeHTML of %d nested <i> = %.60q…, want %d levels then <b>after</b>", maxDepth+50, got, maxDepth)
	}
	if SanitizeHTML(got) != got {
		t.Error("not idempotent")
	}
	if err := checkMatrixSafe(got); err != nil {
		t.Error(err)
	}
}

func TestHTMLToPlainPills(t *testing.T) {
	got := HTMLToPlain(`hi <a href="https://matrix.to/#/@jane:example.org">Jane</a>, see <a href="https://example.com">docs</a>` + "\x01")
	if want := "hi Jane, see docs (https://example.com)"; got != want {
		t.Errorf("HTMLToPlain = %q, want %q", got, want)
	}
}

func TestIsTrivialHTML(t *testing.T) {
	for in, want := range map[string]bool{
		SanitizeHTML(`<p>just text<br/>more</p>`):         true,
		SanitizeHTML(`<span style="x">plain</span>`):      true,
		SanitizeHTML(`<b>bold</b>`):                       false,
		SanitizeHTML(`<a href="https://x.example">l</a>`): false,
	} {
		if got := IsTrivialHTML(in); got != want {
			t.Errorf("IsTrivialHTML(%q) = %v, want %v", in, got, want)
		}
	}
}

// The Matrix allow-list, written out independently of the policy in
// sanitize.go so the fuzz target checks the output against the spec rather
// than against the code under test.
var (
	specTags = []string{
		"font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
		"li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div", "table", "thead", "tbody", "tr",
		"th", "td", "caption", "pre", "span", "img", "details", "summary",
	}
	specAttrs = map[string][]string{
		"font": {"data-mx-bg-color", "data-mx-color", "color"},
		"span": {"data-mx-bg-color", "data-mx-color", "data-mx-spoiler", "data-mx-maths"},
		"a":    {"name", "target", "href"},
		"img":  {"width", "height", "alt", "title", "src"},
		"ol":   {"start"},
		"code": {"class"},
		"div":  {"data-mx-maths"},
	}
	specHref = regexp.MustCompile(`^(https|http|ftp|mailto|magnet):`)
	specSrc  = regexp.MustCompile(`^mxc://[^/\s]+/[^/\s]+$`)
	specLang = regexp.MustCompile(`^language-\S+$`)
)

// checkMatrixSafe reports the first way in which s is not safe Matrix HTML.
// It parses s the way a client does (an HTML5 tree builder, as innerHTML of
// a div), so a tag the tokenizer and the tree builder read differently is
// caught too, and then requires that: every element is on the spec's list,
// every attribute is allowed on its element, links use the spec's schemes,
// images and only images point at mxc://, code classes are language-*, no
// script survives in any form, and the elements are balanced.
func checkMatrixSafe(s string) error {
	if strings.Contains(strings.ToLower(s), "<script") {
		return fmt.Errorf("contains <script")
	}
	nodes, err := html.ParseFragment(strings.NewReader(s), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	var check func(n *html.Node) error
	check = func(n *html.Node) error {
		if n.Type == html.ElementNode {
			if !slices.Contains(specTags, n.Data) {
				return fmt.Errorf("element <%s> is not on the Matrix list", n.Data)
			}
			for _, a := range n.Attr {
				if a.Namespace != "" || !slices.Contains(specAttrs[n.Data], a.Key) {
					return fmt.Errorf("attribute %s on <%s> is not allowed", a.Key, n.Data)
				}
				val := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(val, "javascript:") || strings.HasPrefix(val, "data:") || strings.HasPrefix(val, "vbscript:") {
					return fmt.Errorf("attribute %s=%q on <%s> is a script or data URL", a.Key, a.Val, n.Data)
				}
				if strings.Contains(val, "mxc://") && !(n.Data == "img" && a.Key == "src") && a.Key != "alt" && a.Key != "title" &&
					a.Key != "data-mx-spoiler" && a.Key != "data-mx-maths" && a.Key != "name" && a.Key != "target" {
					return fmt.Errorf("mxc:// in %s on <%s>", a.Key, n.Data)
				}
				switch {
				case a.Key == "href" && !specHref.MatchString(val):
					return fmt.Errorf("link %q has a scheme outside the spec's", a.Val)
				case a.Key == "src" && !specSrc.MatchString(a.Val):
					return fmt.Errorf("image source %q is not an mxc:// URI", a.Val)
				case n.Data == "code" && a.Key == "class" && !specLang.MatchString(a.Val):
					return fmt.Errorf("code class %q is not language-*", a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := check(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range nodes {
		if err := check(n); err != nil {
			return err
		}
	}
	return checkBalanced(s)
}

// checkBalanced requires every non-void start tag to have its end tag, in
// order, as the tokenizer sees them.
func checkBalanced(s string) error {
	z := html.NewTokenizer(strings.NewReader(s))
	var open []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if len(open) > 0 {
				return fmt.Errorf("unclosed <%s>", open[len(open)-1])
			}
			return nil
		case html.StartTagToken:
			tok := z.Token()
			if !voidElements[tok.DataAtom] {
				open = append(open, tok.Data)
			}
		case html.SelfClosingTagToken:
			if tok := z.Token(); !voidElements[tok.DataAtom] {
				return fmt.Errorf("self-closing <%s/>", tok.Data)
			}
		case html.EndTagToken:
			tok := z.Token()
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				return fmt.Errorf("end tag </%s> does not close the innermost element", tok.Data)
			}
			open = open[:len(open)-1]
		case html.CommentToken, html.DoctypeToken:
			return fmt.Errorf("comment or doctype survived")
		}
	}
}

// FuzzSanitizeHTML checks, for any input, that the output is safe Matrix
// HTML (checkMatrixSafe) and that sanitizing it again changes nothing. The
// seed corpus plus testdata/fuzz/FuzzSanitizeHTML run on every `go test`.
func FuzzSanitizeHTML(f *testing.F) {
	for _, s := range []string{
		`<b>x</b>`, `<script>`, `<a href="x">`, `<<>>`, "<p>\x00</p>", `<A/>`,
		`<a href="https://example.org">l</a>`, `<img src="mxc://example.org/a" alt="x">`,
		`<a href="javascript:alert(1)">x</a>`, `<img src=x onerror=alert(1)>`,
		`<table><tr><td>a</td></tr></table>`, `<ol start="2"><li>x</li></ol>`,
		`<code class="language-go">x</code>`, `<span data-mx-spoiler>s</span>`,
		`<svg><a xlink:href="javascript:x">x</a></svg>`, `<math><mi><a href="javascript:x">x</a></mi></math>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		`<a href="https://example.org"><a href="https://evil.example">x</a></a>`,
		`<p><table><td>x</p>`, `<select><option>x</select>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeHTML(in)
		if err := checkMatrixSafe(out); err != nil {
			t.Fatalf("unsafe output: %v\n in  %q\n out %q", err, in, out)
		}
		if again := SanitizeHTML(out); again != out {
			t.Fatalf("not idempotent:\n in    %q\n out   %q\n again %q", in, out, again)
		}
	})
}
