package lync

import (
	"encoding/json"
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

func TestConvertIncoming(t *testing.T) {
	for _, tc := range []struct {
		name           string
		body           ucwa.MessageBody
		wantBody, html string
	}{
		{"plain with CRLF", ucwa.MessageBody{Plain: "Hello.. This is Sandeep Here..\r\n"}, "Hello.. This is Sandeep Here..", ""},
		{"multi-line plain", ucwa.MessageBody{Plain: "a\r\nb\r\n"}, "a\nb", ""},
		{"html only", ucwa.MessageBody{HTML: `<span style="color:#000">Hi <b>there</b></span><script>x()</script>`}, "Hi **there**", "<span>Hi <b>there</b></span>"},
		{"plain and trivial html", ucwa.MessageBody{Plain: "plain", HTML: "<div>plain</div>"}, "plain", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := convertBody(tc.body, "Bob")[0]
			if c.Body != tc.wantBody {
				t.Errorf("body = %q, want %q", c.Body, tc.wantBody)
			}
			if c.FormattedBody != tc.html {
				t.Errorf("formatted_body = %q, want %q", c.FormattedBody, tc.html)
			}
		})
	}
}

func TestNormalizeSIP(t *testing.T) {
	for in, want := range map[string]string{
		"sip:Sandeep.Shantharam@Biogen.com": "sandeep.shantharam@biogen.com",
		"SIP:a@b.c":                         "a@b.c",
		" a@b.c ":                           "a@b.c",
	} {
		if got := normalizeSIP(in); got != want {
			t.Errorf("normalizeSIP(%q) = %q, want %q", in, got, want)
		}
	}
}

// isUnwantedControl: the C0 controls other than newline and tab, and DEL.
func isUnwantedControl(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }

// Items 5 and 6: nothing a colleague wrote is silenced by its form.
func TestConvertNeverSilences(t *testing.T) {
	nested := strings.Repeat("<b>", 5000) + "deep" + strings.Repeat("</b>", 5000)
	for _, tc := range []struct {
		name string
		body ucwa.MessageBody
		want string // substring of the body
		kind event.MessageType
	}{
		{"NUL, C0 and DEL stripped", ucwa.MessageBody{Plain: "a\x00b\x07c\td\ne\x1b\x7f\r\n"}, "abc\td\ne", event.MsgText},
		{"5000 nested <b>", ucwa.MessageBody{HTML: nested}, "deep", event.MsgText},
		{"HTML with nothing readable keeps plain", ucwa.MessageBody{Plain: "the plain part", HTML: "<script>x</script>"}, "the plain part", event.MsgText},
		{"undecodable", ucwa.MessageBody{Undecodable: true}, "A message from Bob could not be read", event.MsgNotice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := convertBody(tc.body, "Bob")
			if len(out) != 1 || out[0].MsgType != tc.kind || !strings.Contains(out[0].Body, tc.want) {
				t.Fatalf("got %+v, want one %s containing %q", out, tc.kind, tc.want)
			}
			if strings.ContainsFunc(out[0].Body+out[0].FormattedBody, isUnwantedControl) {
				t.Fatalf("control characters left in %q", out[0].Body)
			}
		})
	}
}

func TestConvertSplitsWhatIsTooLargeForOneEvent(t *testing.T) {
	for _, size := range []int{70 << 10, 1 << 20} {
		text := strings.Repeat("word <&> ", size/9)
		out := convertBody(ucwa.MessageBody{Plain: text, HTML: "<b>" + text + "</b>"}, "Bob")
		if len(out) < 2 {
			t.Fatalf("%d bytes: %d parts", size, len(out))
		}
		var all strings.Builder
		for i, c := range out {
			raw, err := json.Marshal(c)
			if err != nil || len(raw) > 32<<10 {
				t.Fatalf("%d bytes: part %d is %d bytes of JSON", size, i, len(raw))
			}
			all.WriteString(c.Body)
		}
		got := all.String()
		if size == 70<<10 && strings.Count(got, "word") != strings.Count(text, "word") {
			t.Fatalf("70 kB: %d words arrived of %d", strings.Count(got, "word"), strings.Count(text, "word"))
		}
		if size == 1<<20 && !strings.Contains(got, "[message truncated:") {
			t.Fatalf("1 MB: no truncation marker in %d parts", len(out))
		}
	}
}
