package lync

import (
	"context"
	"testing"

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
			cm, err := convertIncoming(context.Background(), nil, nil, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			c := cm.Parts[0].Content
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
