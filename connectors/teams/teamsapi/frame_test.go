package teamsapi

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Frames from the reference's real session capture (§3.3-3.6).
var captureFrames = []string{
	"1::",
	"2::",
	`5:1::{"name":"trouter.connected","args":[{"ttl":568298,"dur":"1"}]}`,
	`5:2::{"name":"trouter.message_loss","args":[{"droppedIndicators":[{"tag":"messaging","etag":"2025-11-14T20:15:24.4105370Z"},{"tag":"messagingsync","etag":"x"}]}]}`,
	`6:::3+["pong"]`,
	`6:::1+[]`,
	`3:::{"id":1844165944,"method":"POST","url":"/v4/f/V_Qsweryuiop/messaging","headers":{"Content-Type":"application/json; charset=utf-8","X-Microsoft-Skype-Chain-ID":"c","X-Microsoft-Skype-Message-ID":"m","Trouter-Timeout":"12298","MS-CV":"odYhn/gLdkigKo7cSRo4iA.1","trouter-request":"{\"id\":\"b491\",\"src\":\"10.129.103.61\",\"port\":3443}"},"body":"{\"id\":1,\"resourceType\":\"NewMessage\",\"resource\":{}}"}`,
	`5:3+::{"name":"ping"}`,
	`5:::{"name":"user.authenticate","args":[{"headers":{}}]}`,
	"0::",
}

func TestParseFrameCapture(t *testing.T) {
	for _, s := range captureFrames {
		f, err := ParseFrame(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if f.String() != s {
			t.Fatalf("round trip %q -> %q", s, f.String())
		}
	}
	f, _ := ParseFrame(`5:3+::{"name":"ping"}`)
	if f.Type != 5 || f.ID != "3" || !f.WantsAck || f.Data != `{"name":"ping"}` {
		t.Fatalf("%+v", f)
	}
	ev, err := ParseEvent(mustFrame(t, captureFrames[3]).Data)
	if err != nil || ev.Name != "trouter.message_loss" || len(ev.Args) != 1 {
		t.Fatalf("%+v %v", ev, err)
	}
	ack, err := ParseAck(mustFrame(t, captureFrames[4]).Data)
	if err != nil || ack.ID != "3" || string(ack.Args[0]) != `"pong"` {
		t.Fatalf("%+v %v", ack, err)
	}
	for _, bad := range []string{"", "1", "x::", "12::", "5:a::{}", "9::"} {
		if _, err := ParseFrame(bad); !errors.Is(err, ErrBadFrame) {
			t.Fatalf("%q accepted", bad)
		}
	}
	if _, err := ParseEvent(`{"args":[]}`); err == nil {
		t.Fatal("nameless event accepted")
	}
	if _, err := ParseAck("+[]"); err == nil {
		t.Fatal("ack without id accepted")
	}
}

func mustFrame(t *testing.T, s string) Frame {
	t.Helper()
	f, err := ParseFrame(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDeliveryAckAndPayload(t *testing.T) {
	d, err := ParseDelivery(mustFrame(t, captureFrames[6]).Data)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID.String() != "1844165944" || d.Service() != "messaging" {
		t.Fatalf("%+v", d)
	}
	ack := d.AckFrame()
	var body struct {
		ID      json.Number       `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    *string           `json:"body"`
	}
	if !strings.HasPrefix(ack, "3:::") || json.Unmarshal([]byte(strings.TrimPrefix(ack, "3:::")), &body) != nil {
		t.Fatalf("ack %q", ack)
	}
	if body.ID.String() != "1844165944" || body.Status != 200 || body.Headers["MS-CV"] != "odYhn/gLdkigKo7cSRo4iA.1.0" ||
		!strings.Contains(body.Headers["trouter-request"], "b491") || body.Headers["trouter-client"] != `{"cd":7}` || body.Body == nil || *body.Body != "" {
		t.Fatalf("ack %+v", body)
	}
	p, err := d.Payload()
	if err != nil || !strings.Contains(string(p), "NewMessage") {
		t.Fatalf("payload %q %v", p, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"resourceType":"NewMessage"}`))
	_ = zw.Close()
	gz := &Delivery{ID: "1", URL: "/v4/f/x/messaging", Headers: map[string]string{"x-microsoft-skype-content-encoding": "gzip"}, Body: base64.StdEncoding.EncodeToString(buf.Bytes())}
	if p, err := gz.Payload(); err != nil || string(p) != `{"resourceType":"NewMessage"}` {
		t.Fatalf("gzip payload %q %v", p, err)
	}
	gz.Body = "!!!"
	if _, err := gz.Payload(); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("bad gzip: %v", err)
	}
	if _, err := ParseDelivery(`{"id":1}`); err == nil {
		t.Fatal("delivery without url accepted")
	}
	if (&Delivery{URL: "/v4/f/x/TeamsUnifiedPresenceService"}).Service() != "TeamsUnifiedPresenceService" {
		t.Fatal("service")
	}
}

// TestDeliveryShapeVariants: deliveries whose headers or body are not the
// usual strings, and gzip bodies with line breaks or without padding, still
// yield their payload and their ack.
func TestDeliveryShapeVariants(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"id":1001,"type":"EventMessage","resourceType":"NewMessage","resource":{}}`))
	_ = zw.Close()
	std := base64.StdEncoding.EncodeToString(buf.Bytes())
	wrapped := std[:10] + `\r\n` + std[10:] // JSON escapes
	unpadded := strings.TrimRight(std, "=")
	for _, tc := range []struct{ name, frame string }{
		{name: "numeric header value", frame: `3:::{"id":"1844165945","method":"POST","url":"/v4/f/V_Q/messaging","headers":{"Trouter-Timeout":12298,"MS-CV":"cv.1","trouter-request":{"id":"b4","port":3443}},"body":"{\"id\":1001,\"type\":\"EventMessage\",\"resourceType\":\"NewMessage\",\"resource\":{}}"}`},
		{name: "body as an object", frame: `3:::{"id":1844165946,"method":"POST","url":"/v4/f/V_Q/messaging","headers":{"MS-CV":"cv.1"},"body":{"id":1001,"type":"EventMessage","resourceType":"NewMessage","resource":{}}}`},
		{name: "gzip body with line breaks", frame: `3:::{"id":1844165947,"method":"POST","url":"/v4/f/V_Q/messaging","headers":{"X-Microsoft-Skype-Content-Encoding":"gzip","MS-CV":"cv.1"},"body":"` + wrapped + `"}`},
		{name: "unpadded gzip body", frame: `3:::{"id":1844165948,"method":"POST","url":"/v4/f/V_Q/messaging","headers":{"X-Microsoft-Skype-Content-Encoding":"gzip","MS-CV":"cv.1"},"body":"` + unpadded + `"}`},
		{name: "no headers", frame: `3:::{"id":1844165949,"method":"POST","url":"/v4/f/V_Q/messaging","body":"{\"id\":1001,\"type\":\"EventMessage\",\"resourceType\":\"NewMessage\",\"resource\":{}}"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDelivery(mustFrame(t, tc.frame).Data)
			if err != nil {
				t.Fatal(err)
			}
			p, err := d.Payload()
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(p, &ev) != nil || ev.ResourceType != "NewMessage" || d.Service() != "messaging" {
				t.Fatalf("payload %q", p)
			}
			if ack := d.AckFrame(); !strings.Contains(ack, `"id":`+d.ID.String()) || !strings.Contains(ack, `"status":200`) {
				t.Fatalf("ack %s", ack)
			}
		})
	}
}

func TestTrouterHostCheck(t *testing.T) {
	tr := &Trouter{auth: &Auth{cfg: Config{TrouterURL: "https://go.trouter.teams.microsoft.com"}}}
	for host, ok := range map[string]bool{
		"https://trouter2-azsc-ince-1-a.trouter.teams.microsoft.com:443/": true,
		"https://go.trouter.teams.microsoft.com/":                         true,
		"https://evil.example/":                                           false,
		"https://trouter.teams.microsoft.com.evil.example/":               false,
		"https://teams.microsoft.com/":                                    false,
	} {
		if tr.trouterHost(host) != ok {
			t.Fatalf("%s: want %v", host, ok)
		}
	}
}

func TestParseAuthzShapes(t *testing.T) {
	work, err := parseAuthz([]byte(`{"tokens":{"skypeToken":"eyJ0.eyJza3lwZWlkIjoib3JnaWQ6YWJjIn0.x","expiresIn":86400,"tokenType":"SkypeToken"},"region":"emea","regionGtms":{"chatService":"https://at.ng.msg.teams.microsoft.com/","ams":"https://ams","nested":{"x":1}}}`), testNow)
	if err != nil || work.MRI() != "8:orgid:abc" || work.Hosts["chatService"] != "https://at.ng.msg.teams.microsoft.com" || work.Expires.Sub(testNow).Hours() != 24 {
		t.Fatalf("%+v %v", work, err)
	}
	cons, err := parseAuthz([]byte(`{"skypeToken":{"skypetoken":"t","expiresIn":"3600","skypeid":"live:.cid.12","signinname":"a@b","isBusinessTenant":false}}`), testNow)
	if err != nil || cons.MRI() != "8:live:.cid.12" || cons.Expires.Sub(testNow).Hours() != 1 || len(cons.Hosts) != 0 {
		t.Fatalf("%+v %v", cons, err)
	}
	if _, err := parseAuthz([]byte(`{"errorCode":"x"}`), testNow); err == nil {
		t.Fatal("answer without token accepted")
	}
}

// FuzzTrouterFrame: the frame parser and the payload decoders behind it
// never panic, and whatever parses renders back to the same frame.
func FuzzTrouterFrame(f *testing.F) {
	for _, s := range captureFrames {
		f.Add(s)
	}
	f.Add(`3:::{"id":"1","url":"/m","headers":{"X-Microsoft-Skype-Content-Encoding":"gzip"},"body":"H4sIAAAAAAAA"}`)
	f.Add("6:::+")
	f.Add("5:1+:ep:")
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := ParseFrame(s)
		if err != nil {
			return
		}
		if fr.String() != s {
			t.Fatalf("round trip %q -> %q", s, fr.String())
		}
		switch fr.Type {
		case 3:
			if d, err := ParseDelivery(fr.Data); err == nil {
				_, _ = d.Payload()
				_ = d.AckFrame()
				_ = d.Service()
			}
		case 5:
			_, _ = ParseEvent(fr.Data)
		case 6:
			_, _ = ParseAck(fr.Data)
		}
	})
}
