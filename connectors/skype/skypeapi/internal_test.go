package skypeapi

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestParseSOAPForms(t *testing.T) {
	ok := `<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"><S:Body><wst:RequestSecurityTokenResponseCollection xmlns:wst="x"><wst:RequestSecurityTokenResponse><wst:RequestedSecurityToken><wsse:BinarySecurityToken xmlns:wsse="y" Id="PPAuth">other</wsse:BinarySecurityToken></wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse><wst:RequestSecurityTokenResponse><wst:RequestedSecurityToken><wsse:BinarySecurityToken xmlns:wsse="y" Id="Compact0">t=EwAB&amp;p=</wsse:BinarySecurityToken></wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>`
	if r := parseSOAP([]byte(ok)); r.token != "t=EwAB&p=" || r.fault != "" {
		t.Fatalf("token answer: %+v", r)
	}
	soap11 := `<S:Envelope><S:Body><S:Fault><faultcode>wsse:FailedAuthentication</faultcode><faultstring>Authentication Failure</faultstring></S:Fault></S:Body></S:Envelope>`
	if r := parseSOAP([]byte(soap11)); r.fault != "wsse:FailedAuthentication" || r.reason != "Authentication Failure" || r.token != "" {
		t.Fatalf("SOAP 1.1 fault: %+v", r)
	}
	soap12 := `<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"><S:Body><S:Fault><S:Code><S:Value>S:Sender</S:Value><S:Subcode><S:Value>wst:FailedAuthentication</S:Value></S:Subcode></S:Code><S:Reason><S:Text xml:lang="en-US">Authentication Failure</S:Text></S:Reason><S:Detail><psf:error xmlns:psf="z"><psf:value>0x80048821</psf:value></psf:error></S:Detail></S:Fault></S:Body></S:Envelope>`
	if r := parseSOAP([]byte(soap12)); r.fault != "0x80048821" && r.fault != "wst:FailedAuthentication" {
		t.Fatalf("SOAP 1.2 fault: %+v", r)
	} else if r.reason != "Authentication Failure" {
		t.Fatalf("SOAP 1.2 reason: %+v", r)
	}
	if r := parseSOAP([]byte("<<garbage")); r.token != "" || r.fault != "" {
		t.Fatalf("garbage: %+v", r)
	}
}

func TestParsePageAndLiveError(t *testing.T) {
	html := `<html><form name="fmHF" id="fmHF"></form><input value="v1" type="hidden" name="PPFT" id="i0327"/><INPUT TYPE="hidden" ID="t" VALUE="tok&amp;1">
	<script>var ServerData={sErrTxt:'Your account or password is incorrect. If you don\'t remember it, <a href=\"#\">reset</a>',x:1};</script>`
	p := parsePage([]byte(html))
	if p.inputs["PPFT"] != "v1" || p.inputs["i0327"] != "v1" || p.inputs["t"] != "tok&1" || !p.forms["fmHF"] {
		t.Fatalf("page %+v", p)
	}
	if got := liveError([]byte(html)); got != `Your account or password is incorrect. If you don't remember it, reset` {
		t.Fatalf("error text %q", got)
	}
	if got := liveError([]byte(`sErrTxt:"double \"quoted\""`)); got != `double "quoted"` {
		t.Fatalf("double-quoted error %q", got)
	}
	if liveError([]byte("no error here")) != "" {
		t.Fatal("found an error where there is none")
	}
}

func TestRegionalSibling(t *testing.T) {
	for _, c := range []struct {
		host, configured string
		want             bool
	}{
		{"client-s.gateway.messenger.live.com", "client-s.gateway.messenger.live.com", true},
		{"db3-client-s.gateway.messenger.live.com", "client-s.gateway.messenger.live.com", true},
		{"azwcus1-client-s.gateway.messenger.live.com", "client-s.gateway.messenger.live.com", true},
		{"weu1-api.asm.skype.com", "api.asm.skype.com", true},
		{"evil-client-s.gateway.messenger.live.com.evil.com", "client-s.gateway.messenger.live.com", false},
		{"client-s.evil.com", "client-s.gateway.messenger.live.com", false},
		{"xclient-s.gateway.messenger.live.com", "client-s.gateway.messenger.live.com", false},
		{"other.gateway.messenger.live.com", "client-s.gateway.messenger.live.com", false},
		{"127.0.0.1:4000", "127.0.0.1:5000", true},
		{"10.0.0.1:4000", "10.0.0.1:5000", false},
		{"evil.com:443", "api.asm.skype.com", false},
	} {
		if got := regionalSibling(c.host, c.configured); got != c.want {
			t.Errorf("regionalSibling(%q, %q) = %v", c.host, c.configured, got)
		}
	}
}

func TestJWTExpiry(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1700000000,"skypeid":"x"}`))
	if got := jwtExpiry("eyJhbGciOiJSUzI1NiJ9." + payload + ".sig"); !got.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("exp = %v", got)
	}
	for _, bad := range []string{"opaque", "a.b.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"soon"}`)) + ".c"} {
		if !jwtExpiry(bad).IsZero() {
			t.Fatalf("jwtExpiry(%q) not zero", bad)
		}
	}
}

func TestRegionalASM(t *testing.T) {
	if got := regionalASM("https://api.asm.skype.com/v1/objects/0-weu-d1-abc", "weu"); got != "https://weu1-api.asm.skype.com/v1/objects/0-weu-d1-abc" {
		t.Fatalf("got %q", got)
	}
	if asmRegion("https://api.asm.skype.com/v1/objects/0-weu-d1-abc") != "weu" || asmRegion("https://h/v1/objects/abc") != "" {
		t.Fatal("asmRegion")
	}
	if regionalASM("http://127.0.0.1:5/v1/objects/0-weu-d1-x", "weu") != "" || regionalASM("https://weu1-api.asm.skype.com/v1/objects/x", "weu") != "" {
		t.Fatal("rewrote a host that is not the global one")
	}
}

// FuzzSignInParsers: the SOAP, HTML and header parsers never panic on
// anything a sign-in host might answer.
func FuzzSignInParsers(f *testing.F) {
	for _, s := range []string{
		`<S:Envelope><S:Body><S:Fault><faultcode>wsse:FailedAuthentication</faultcode></S:Fault></S:Body></S:Envelope>`,
		`<wsse:BinarySecurityToken Id="Compact0">t=x</wsse:BinarySecurityToken>`,
		`<input type="hidden" name="PPFT" value="x"><form name="fmHF">sErrTxt:'a\'b'`,
		`registrationToken=a; expires=1; endpointId={x}`,
		`urlPost:'/ppsecure/post.srf?opid=ABC&x'`, "", "<", "sErrTxt:'",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = parseSOAP(data)
		_ = parsePage(data)
		_ = liveError(data)
		_ = reOpid.FindSubmatch(data)
		if r, ok := ParseSetRegistrationToken(string(data)); ok && r.Token == "" {
			t.Fatal("ok without a token")
		}
		_ = jwtExpiry(string(data))
		_, _ = errorBody(data)
	})
}
