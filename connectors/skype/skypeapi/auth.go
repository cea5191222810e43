package skypeapi

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// Skype web client identifiers used by the Live and refresh flows.
const (
	webClientID    = "578134"
	webRedirectURI = "https://web.skype.com"
	oauthPartner   = "999"
)

// Session is a signed-in account: the skypetoken and who it belongs to.
type Session struct {
	SkypeToken string
	// Expires is when the token lapses (the service says ~24 h); zero when
	// unknown (a pasted token that is not a JWT).
	Expires time.Time
	// UserID is the Skype name ("joe.4", "live:joe.4", "live:.cid.x").
	UserID     string
	SignInName string
}

// MRI is the user's chat-service id (8:<skype name>).
func (s *Session) MRI() string { return "8:" + s.UserID }

// Auth performs the sign-in flows.
type Auth struct {
	cfg Config
}

// NewAuth checks cfg and returns an authenticator.
func NewAuth(cfg Config) (*Auth, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Auth{cfg: cfg}, nil
}

// Login signs in with a Microsoft-account e-mail or Skype name and a
// password (or app password): the SOAP flow first, the Live web flow when
// login.live.com refuses SOAP for the account.
func (a *Auth) Login(ctx context.Context, user, password string) (*Session, error) {
	s, err := a.LoginSOAP(ctx, user, password)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, ErrSOAPRefused) {
		return nil, err
	}
	a.cfg.Log.Info().Err(err).Msg("SOAP sign-in refused, trying the Live web flow")
	return a.LoginLive(ctx, user, password)
}

const soapEnvelope = `<Envelope xmlns='http://schemas.xmlsoap.org/soap/envelope/' xmlns:wsse='http://schemas.xmlsoap.org/ws/2003/06/secext' xmlns:wsp='http://schemas.xmlsoap.org/ws/2002/12/policy' xmlns:wsa='http://schemas.xmlsoap.org/ws/2004/03/addressing' xmlns:wst='http://schemas.xmlsoap.org/ws/2004/04/trust' xmlns:ps='http://schemas.microsoft.com/Passport/SoapServices/PPCRL'>` +
	`<Header><wsse:Security><wsse:UsernameToken Id='user'><wsse:Username>%s</wsse:Username><wsse:Password>%s</wsse:Password></wsse:UsernameToken></wsse:Security></Header>` +
	`<Body><ps:RequestMultipleSecurityTokens Id='RSTS'><wst:RequestSecurityToken Id='RST0'><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>` +
	`<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>wl.skype.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
	`<wsse:PolicyReference URI='MBI_SSL'></wsse:PolicyReference></wst:RequestSecurityToken></ps:RequestMultipleSecurityTokens></Body></Envelope>`

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// LoginSOAP runs the WS-Trust flow (RST.srf) and exchanges the compact
// ticket for a skypetoken at edge.skype.com.
func (a *Auth) LoginSOAP(ctx context.Context, user, password string) (*Session, error) {
	body := fmt.Sprintf(soapEnvelope, xmlEscape(user), xmlEscape(password))
	resp, data, err := a.send(ctx, a.cfg.HTTPClient, http.MethodPost, a.cfg.LoginLiveURL+"/RST.srf",
		http.Header{"Content-Type": {"application/soap+xml; charset=utf-8"}}, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("skype soap: %w", err)
	}
	if le := rateLimit("soap", resp, data, a.cfg.Now()); le != nil {
		return nil, le
	}
	res := parseSOAP(data)
	switch {
	case res.token != "":
		return a.edgeToken(ctx, res.token)
	case res.fault != "":
		le := &LoginError{Step: "soap", Code: res.fault, Message: res.reason, Kind: ErrSOAPRefused}
		// A Skype name may not be a Microsoft-account alias SOAP knows; the
		// Live flow gives the definite answer for those.
		if strings.Contains(res.fault, "FailedAuthentication") && strings.Contains(user, "@") {
			le.Kind = ErrBadCredentials
		}
		return nil, le
	case resp.StatusCode != http.StatusOK:
		return nil, &LoginError{Step: "soap", Kind: ErrSOAPRefused, Code: strconv.Itoa(resp.StatusCode)}
	}
	return nil, &LoginError{Step: "soap", Kind: ErrSOAPRefused, Message: "no BinarySecurityToken in the answer"}
}

type soapResult struct{ token, fault, reason string }

// parseSOAP reads the compact ticket or the fault from an RST.srf answer,
// in the SOAP 1.1 (faultcode/faultstring) or 1.2 (Code/Subcode/Reason) form.
func parseSOAP(data []byte) soapResult {
	var res soapResult
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	var stack []string
	var tokenID string
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if t.Name.Local == "BinarySecurityToken" {
				tokenID = ""
				for _, at := range t.Attr {
					if at.Name.Local == "Id" {
						tokenID = at.Value
					}
				}
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			text := strings.TrimSpace(string(t))
			if text == "" {
				continue
			}
			switch cur := stack[len(stack)-1]; {
			case cur == "BinarySecurityToken":
				if res.token == "" || tokenID == "Compact0" {
					res.token = text
				}
			case cur == "faultcode":
				res.fault = text
			case cur == "Value" && inStack(stack, "Fault"):
				res.fault = text // the Subcode value comes last and is the specific one
			case cur == "faultstring" || (cur == "Text" && inStack(stack, "Reason")):
				res.reason = text
			}
		}
	}
	return res
}

func inStack(stack []string, name string) bool {
	for _, s := range stack {
		if s == name {
			return true
		}
	}
	return false
}

// edgeToken exchanges a Live compact ticket for a skypetoken.
func (a *Auth) edgeToken(ctx context.Context, ticket string) (*Session, error) {
	form := url.Values{"partner": {oauthPartner}, "access_token": {ticket}, "scopes": {"client"}}
	resp, data, err := a.send(ctx, a.cfg.HTTPClient, http.MethodPost, a.cfg.EdgeURL+"/rps/v1/rps/skypetoken",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("skype edge: %w", err)
	}
	if le := rateLimit("edge", resp, data, a.cfg.Now()); le != nil {
		return nil, le
	}
	var body struct {
		SkypeToken string             `json:"skypetoken"`
		ExpiresIn  chatsvc.FlexString `json:"expiresIn"`
		SkypeID    string             `json:"skypeid"`
		SignInName string             `json:"signinname"`
		Status     *struct {
			Code chatsvc.FlexString `json:"code"`
			Text string             `json:"text"`
		} `json:"status"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return nil, &LoginError{Step: "edge", Kind: ErrProtocol, Code: strconv.Itoa(resp.StatusCode), Message: "undecodable answer"}
	}
	if body.SkypeToken == "" {
		le := &LoginError{Step: "edge", Kind: ErrProtocol, Code: strconv.Itoa(resp.StatusCode)}
		if body.Status != nil {
			le.Code, le.Message = string(body.Status.Code), body.Status.Text
			switch string(body.Status.Code) {
			case "40120", "40121":
				le.Kind = ErrBadCredentials
			case "40002":
				le.Kind = ErrAccountActionRequired
			}
		}
		return nil, le
	}
	s := &Session{SkypeToken: body.SkypeToken, UserID: body.SkypeID, SignInName: body.SignInName}
	s.Expires = a.expiry(body.SkypeToken, body.ExpiresIn.Int())
	if s.UserID == "" {
		p, err := a.SelfProfile(ctx, s.SkypeToken)
		if err != nil {
			return nil, err
		}
		s.UserID = p.Username
	}
	return s, nil
}

func (a *Auth) expiry(token string, expiresIn int64) time.Time {
	if expiresIn > 0 {
		return a.cfg.Now().Add(time.Duration(expiresIn) * time.Second)
	}
	return jwtExpiry(token)
}

// jwtExpiry reads the exp claim of a JWT skypetoken (zero when not a JWT).
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp chatsvc.FlexString `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp.Int() <= 0 {
		return time.Time{}
	}
	return time.Unix(claims.Exp.Int(), 0)
}

// rateLimit maps 429 (errorCode 803) to ErrAuthRateLimited.
func rateLimit(step string, resp *http.Response, data []byte, now time.Time) *LoginError {
	if resp.StatusCode != http.StatusTooManyRequests {
		return nil
	}
	le := &LoginError{Step: step, Kind: ErrAuthRateLimited, Code: "429", RetryAfter: 5 * time.Minute}
	var body struct {
		ErrorCode chatsvc.FlexString `json:"errorCode"`
		Message   string             `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.ErrorCode != "" {
		le.Code, le.Message = string(body.ErrorCode), body.Message
	}
	if d, ok := chatsvc.ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		le.RetryAfter = d
	}
	return le
}

// loginClient follows redirects only between the configured sign-in hosts
// and keeps the Live flow's cookies.
func (a *Auth) loginClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	allowed := []string{hostOf(a.cfg.LoginLiveURL), hostOf(a.cfg.LoginSkypeURL)}
	return &http.Client{
		Transport: a.cfg.HTTPClient.Transport,
		Timeout:   a.cfg.HTTPClient.Timeout,
		Jar:       jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			for _, h := range allowed {
				if strings.EqualFold(req.URL.Host, h) && (req.URL.Scheme == "https" || a.cfg.AllowInsecureHTTP) {
					return nil
				}
			}
			// Anything else (web.skype.com, lw.skype.com) is not followed: the
			// page already holds what the flow reads.
			return http.ErrUseLastResponse
		},
	}
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

var (
	// opid sits in a URL of the page's script, raw or as "&amp;opid=".
	reOpid = regexp.MustCompile(`(?:^|[^A-Za-z0-9_])opid=([A-Za-z0-9*!$_\-]+)`)
	// The PPFT input of login.live.com is written by script
	// (sFTTag:'<input type="hidden" name="PPFT" ... value="..."/>'), so
	// an HTML parser does not see it as an element.
	rePPFT    = regexp.MustCompile(`<input[^>]*?name=\\?["']PPFT\\?["'][^>]*?value=\\?["']([^"'\\]*)`)
	reTags    = regexp.MustCompile(`<[^>]*>`)
	reErrText = regexp.MustCompile(`sErrTxt\s*:\s*(?:'((?:\\.|[^'\\])*)'|"((?:\\.|[^"\\])*)")`)
)

// pageInfo is what the Live flow reads from an HTML page.
type pageInfo struct {
	inputs map[string]string // hidden inputs by name and by id
	forms  map[string]bool   // form names and ids
}

func parsePage(data []byte) pageInfo {
	pi := pageInfo{inputs: map[string]string{}, forms: map[string]bool{}}
	z := xhtml.NewTokenizer(bytes.NewReader(data))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return pi
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		t := z.Token()
		attrs := map[string]string{}
		for _, at := range t.Attr {
			attrs[strings.ToLower(at.Key)] = at.Val
		}
		switch t.Data {
		case "input":
			for _, k := range []string{attrs["name"], attrs["id"]} {
				if k != "" {
					if _, seen := pi.inputs[k]; !seen {
						pi.inputs[k] = attrs["value"]
					}
				}
			}
		case "form":
			pi.forms[attrs["name"]] = true
			pi.forms[attrs["id"]] = true
		}
	}
}

func liveError(data []byte) string {
	m := reErrText.FindSubmatch(data)
	if m == nil {
		return ""
	}
	s := string(m[1])
	if s == "" {
		s = string(m[2])
	}
	s = strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`).Replace(s)
	// The text may carry markup (a "reset your password" link).
	return strings.TrimSpace(html.UnescapeString(reTags.ReplaceAllString(s, "")))
}

// ppftOf finds the PPFT value, as a real input or inside the script.
func ppftOf(data []byte, page pageInfo) string {
	if v := page.inputs["PPFT"]; v != "" {
		return v
	}
	if m := rePPFT.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// LoginLive runs the login.live.com web flow (no two-step verification).
func (a *Auth) LoginLive(ctx context.Context, user, password string) (*Session, error) {
	hc := a.loginClient()
	start := a.cfg.LoginSkypeURL + "/login/oauth/microsoft?" + url.Values{"client_id": {webClientID}, "redirect_uri": {webRedirectURI}}.Encode()
	resp, data, err := a.send(ctx, hc, http.MethodGet, start, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("skype live: %w", err)
	}
	if le := rateLimit("live", resp, data, a.cfg.Now()); le != nil {
		return nil, le
	}
	ppft := ppftOf(data, parsePage(data))
	if ppft == "" {
		return nil, &LoginError{Step: "live", Kind: ErrProtocol, Code: strconv.Itoa(resp.StatusCode), Message: "no PPFT on the sign-in page"}
	}
	wreply := "https://lw.skype.com/login/oauth/proxy?client_id=" + webClientID + "&site_name=lw.skype.com&redirect_uri=https%3A%2F%2Fweb.skype.com%2F"
	postURL := a.cfg.LoginLiveURL + "/ppsecure/post.srf?" + url.Values{"wa": {"wsignin1.0"}, "wp": {"MBI_SSL"}, "wreply": {wreply}}.Encode()
	if u, err := url.Parse(postURL); err == nil {
		hc.Jar.SetCookies(u, []*http.Cookie{{Name: "CkTst", Value: "G" + strconv.FormatInt(a.cfg.Now().UnixMilli(), 10)}})
	}
	form := url.Values{"login": {user}, "passwd": {password}, "PPFT": {ppft}, "loginoptions": {"3"}}
	var t string
	for round := 0; round < 4 && t == ""; round++ {
		resp, data, err = a.send(ctx, hc, http.MethodPost, postURL, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, fmt.Errorf("skype live: %w", err)
		}
		if le := rateLimit("live", resp, data, a.cfg.Now()); le != nil {
			return nil, le
		}
		page := parsePage(data)
		if v := page.inputs["t"]; v != "" {
			t = v
			break
		}
		if msg := liveError(data); msg != "" {
			return nil, &LoginError{Step: "live", Kind: ErrBadCredentials, Message: msg}
		}
		if page.forms["fmHF"] {
			return nil, &LoginError{Step: "live", Kind: ErrAccountActionRequired, Message: "Microsoft asks for an action (terms, verification or a captcha) before this sign-in"}
		}
		m := reOpid.FindSubmatch(data)
		if m == nil {
			return nil, &LoginError{Step: "live", Kind: ErrProtocol, Code: strconv.Itoa(resp.StatusCode), Message: "neither a token nor a next step on the sign-in page"}
		}
		if v := ppftOf(data, page); v != "" {
			ppft = v
		}
		form = url.Values{"opid": {string(m[1])}, "PPFT": {ppft}, "site_name": {"lw.skype.com"}, "oauthPartner": {oauthPartner},
			"client_id": {webClientID}, "redirect_uri": {webRedirectURI}, "type": {"28"}}
	}
	if t == "" {
		return nil, &LoginError{Step: "live", Kind: ErrProtocol, Message: "sign-in did not finish"}
	}
	return a.skypeTokenFromT(ctx, hc, "live", t)
}

// skypeTokenFromT is the last step of the Live and refresh flows.
func (a *Auth) skypeTokenFromT(ctx context.Context, hc *http.Client, step, t string) (*Session, error) {
	u := a.cfg.LoginSkypeURL + "/login/microsoft?" + url.Values{"client_id": {webClientID}, "redirect_uri": {webRedirectURI}}.Encode()
	form := url.Values{"t": {t}, "client_id": {webClientID}, "oauthPartner": {oauthPartner}, "site_name": {"lw.skype.com"}, "redirect_uri": {webRedirectURI}}
	resp, data, err := a.send(ctx, hc, http.MethodPost, u, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("skype %s: %w", step, err)
	}
	if le := rateLimit(step, resp, data, a.cfg.Now()); le != nil {
		return nil, le
	}
	page := parsePage(data)
	tok := page.inputs["skypetoken"]
	if tok == "" {
		if msg := liveError(data); msg != "" {
			return nil, &LoginError{Step: step, Kind: ErrBadCredentials, Message: msg}
		}
		return nil, &LoginError{Step: step, Kind: ErrProtocol, Code: strconv.Itoa(resp.StatusCode), Message: "no skypetoken in the answer"}
	}
	exp, _ := strconv.ParseInt(page.inputs["expires_in"], 10, 64)
	s := &Session{SkypeToken: tok, Expires: a.expiry(tok, exp)}
	p, err := a.SelfProfile(ctx, tok)
	if err != nil {
		return nil, err
	}
	s.UserID = p.Username
	return s, nil
}

// Refresh trades a still-valid skypetoken for a new one (login.skype.com
// refresh-token cookie). Skype-name accounts only; Microsoft accounts must
// sign in again.
func (a *Auth) Refresh(ctx context.Context, token string) (*Session, error) {
	hc := a.loginClient()
	u := a.cfg.LoginSkypeURL + "/login?" + url.Values{"client_id": {webClientID}, "redirect_uri": {webRedirectURI}}.Encode()
	resp, data, err := a.send(ctx, hc, http.MethodGet, u, http.Header{"Cookie": {"refresh-token=" + token}}, nil)
	if err != nil {
		return nil, fmt.Errorf("skype refresh: %w", err)
	}
	if le := rateLimit("refresh", resp, data, a.cfg.Now()); le != nil {
		return nil, le
	}
	t := parsePage(data).inputs["t"]
	if t == "" {
		return nil, &LoginError{Step: "refresh", Kind: ErrTokenRejected, Code: strconv.Itoa(resp.StatusCode), Message: "the service did not accept the token for a refresh"}
	}
	return a.skypeTokenFromT(ctx, hc, "refresh", t)
}

// LoginToken checks an existing skypetoken and finds whose it is.
func (a *Auth) LoginToken(ctx context.Context, token string) (*Session, error) {
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "skypetoken="))
	if token == "" {
		return nil, &LoginError{Step: "profile", Kind: ErrTokenRejected, Message: "empty token"}
	}
	p, err := a.SelfProfile(ctx, token)
	if err != nil {
		return nil, err
	}
	return &Session{SkypeToken: token, UserID: p.Username, Expires: jwtExpiry(token)}, nil
}

// Profile is a user's own profile.
type Profile struct {
	Username  string `json:"username"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	AvatarURL string `json:"avatarUrl"`
	Mood      string `json:"mood"`
	RichMood  string `json:"richMood"`
}

// DisplayName joins first and last name, falling back to the Skype name.
func (p *Profile) DisplayName() string {
	if n := strings.TrimSpace(p.FirstName + " " + p.LastName); n != "" {
		return n
	}
	return p.Username
}

// SelfProfile fetches the signed-in user's profile.
func (a *Auth) SelfProfile(ctx context.Context, token string) (*Profile, error) {
	resp, data, err := a.send(ctx, a.cfg.HTTPClient, http.MethodGet, a.cfg.APIURL+"/users/self/profile", http.Header{"X-SkypeToken": {token}}, nil)
	if err != nil {
		return nil, fmt.Errorf("skype profile: %w", err)
	}
	if le := rateLimit("profile", resp, data, a.cfg.Now()); le != nil {
		return nil, le
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, &LoginError{Step: "profile", Kind: ErrTokenRejected, Code: strconv.Itoa(resp.StatusCode)}
	}
	var p Profile
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &p) != nil || p.Username == "" {
		return nil, &LoginError{Step: "profile", Kind: ErrProtocol, Code: strconv.Itoa(resp.StatusCode), Message: "no username in the profile"}
	}
	return &p, nil
}

// send performs one request and reads the whole answer (capped).
func (a *Auth) send(ctx context.Context, hc *http.Client, method, u string, h http.Header, body io.Reader) (*http.Response, []byte, error) {
	return doHTTP(ctx, hc, method, u, h, body)
}

func doHTTP(ctx context.Context, hc *http.Client, method, u string, h http.Header, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL may carry nothing secret, but the error text of a
		// *url.Error repeats it; keep only the operation and cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, nil, fmt.Errorf("%s %s: %w", method, redactURL(u), ue.Err)
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, redactURL(u), err)
	}
	return resp, data, nil
}

func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	p.RawQuery = ""
	return p.String()
}

// LoginSkypeName is the legacy Skype-name login of api.skype.com
// (login/skypetoken with an MD5 password hash). Microsoft retired it for
// most accounts; it is kept because some services still answered it.
func (a *Auth) LoginSkypeName(ctx context.Context, user, password string) (*Session, error) {
	sum := md5.Sum([]byte(user + "\nskyper\n" + password))
	body, _ := json.Marshal(map[string]string{"username": user, "passwordHash": base64.StdEncoding.EncodeToString(sum[:]), "scopes": "client"})
	resp, data, err := a.send(ctx, a.cfg.HTTPClient, http.MethodPost, a.cfg.APIURL+"/login/skypetoken",
		http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("skype api login: %w", err)
	}
	if le := rateLimit("api", resp, data, a.cfg.Now()); le != nil {
		return nil, le
	}
	var ans struct {
		SkypeToken string             `json:"skypetoken"`
		ExpiresIn  chatsvc.FlexString `json:"expiresIn"`
	}
	if json.Unmarshal(data, &ans) != nil || ans.SkypeToken == "" {
		code, msg := errorBody(data)
		if code == "" {
			code = strconv.Itoa(resp.StatusCode)
		}
		kind := ErrProtocol
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || code == "40120" {
			kind = ErrBadCredentials
		}
		return nil, &LoginError{Step: "api", Kind: kind, Code: code, Message: msg}
	}
	s := &Session{SkypeToken: ans.SkypeToken, Expires: a.expiry(ans.SkypeToken, ans.ExpiresIn.Int())}
	p, err := a.SelfProfile(ctx, s.SkypeToken)
	if err != nil {
		return nil, err
	}
	s.UserID = p.Username
	return s, nil
}
