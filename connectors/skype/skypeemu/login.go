package skypeemu

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var (
	reSOAPUser = regexp.MustCompile(`(?s)<wsse:Username>(.*?)</wsse:Username>`)
	reSOAPPass = regexp.MustCompile(`(?s)<wsse:Password>(.*?)</wsse:Password>`)
)

func xmlUnescape(s string) string {
	var out string
	if err := xml.Unmarshal([]byte("<x>"+s+"</x>"), &out); err != nil {
		return s
	}
	return out
}

func soapFault(w http.ResponseWriter, code, reason string) {
	w.Header().Set("Content-Type", "application/soap+xml")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:psf="http://schemas.microsoft.com/Passport/SoapServices/SOAPFault"><S:Body><S:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring></S:Fault></S:Body></S:Envelope>`,
		html.EscapeString(code), html.EscapeString(reason))
}

// handleSOAP is login.live.com/RST.srf.
func (e *Emulator) handleSOAP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	mu, mp := reSOAPUser.FindSubmatch(body), reSOAPPass.FindSubmatch(body)
	if mu == nil || mp == nil || !strings.Contains(string(body), "wl.skype.com") || !strings.Contains(string(body), "MBI_SSL") {
		soapFault(w, "wsse:InvalidSecurity", "Invalid request")
		return
	}
	login, pass := xmlUnescape(string(mu[1])), xmlUnescape(string(mp[1]))
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.userByLogin(login)
	switch {
	case u == nil:
		soapFault(w, "wsse:FailedAuthentication", "Authentication Failure")
		return
	case u.SOAPRefused:
		soapFault(w, "psf:Redirect", "The account must sign in through the web flow")
		return
	case u.AppPassword != "" && pass == u.AppPassword:
	case u.TwoStep:
		soapFault(w, "psf:StrongAuthRequired", "Two-step verification required; use an app password")
		return
	case pass != u.Password:
		soapFault(w, "wsse:FailedAuthentication", "Authentication Failure")
		return
	}
	ticket := "t=EwC" + randHex(24)
	e.tickets[ticket] = u
	w.Header().Set("Content-Type", "application/soap+xml")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><S:Body><wst:RequestSecurityTokenResponseCollection><wst:RequestSecurityTokenResponse><wst:TokenType>urn:passport:compact</wst:TokenType><wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy"><wsa:EndpointReference xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing"><wsa:Address>wl.skype.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="Compact0">%s</wsse:BinarySecurityToken></wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>`,
		html.EscapeString(ticket))
}

// handleEdge is edge.skype.com/rps/v1/rps/skypetoken (form, or JSON as the docs say).
func (e *Emulator) handleEdge(w http.ResponseWriter, r *http.Request) {
	var ticket, partner, scopes string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var b struct{ Partner, AccessToken, Scopes string }
		data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var raw map[string]any
		_ = json.Unmarshal(data, &raw)
		b.Partner, _ = raw["partner"].(string)
		b.AccessToken, _ = raw["access_token"].(string)
		b.Scopes, _ = raw["scopes"].(string)
		ticket, partner, scopes = b.AccessToken, b.Partner, b.Scopes
	} else {
		_ = r.ParseForm()
		ticket, partner, scopes = r.PostForm.Get("access_token"), r.PostForm.Get("partner"), r.PostForm.Get("scopes")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.tickets[ticket]
	if u == nil || partner != "999" || scopes != "client" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": map[string]any{"code": 40120, "text": "Authentication failed. Bad username or password."}})
		return
	}
	delete(e.tickets, ticket)
	tok := e.mintTokenLocked(u)
	writeJSON(w, http.StatusOK, map[string]any{"skypetoken": tok, "expiresIn": int(e.opts.TokenLifetime.Seconds()), "skypeid": u.Name, "signinname": u.Email})
}

func hidden(name, value string) string {
	return `<input type="hidden" name="` + html.EscapeString(name) + `" id="` + html.EscapeString(name) + `" value="` + html.EscapeString(value) + `"/>`
}

func page(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"+body+"</body></html>")
}

// handleLive serves the login.skype.com / login.live.com web flow.
func (e *Emulator) handleLive(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch r.URL.Path {
	case "/login/oauth/microsoft":
		if r.URL.Query().Get("client_id") != "578134" {
			http.Error(w, "bad client", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/oauth20_authorize.srf?client_id=00000000480BC46C&scope=service%3A%3Alw.skype.com%3A%3AMBI_SSL&response_type=token", http.StatusFound)
	case "/oauth20_authorize.srf":
		ppft := "PPFT-" + randHex(12)
		e.ppft[ppft] = true
		http.SetCookie(w, &http.Cookie{Name: "MSPRequ", Value: "id=N&lt=" + randHex(4), Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "MSPOK", Value: "$uuid-" + randHex(8), Path: "/"})
		page(w, `<form name="f1" method="post" action="/ppsecure/post.srf">`+hidden("PPFT", ppft)+`</form><script>var ServerData={urlPost:'/ppsecure/post.srf'};</script>`)
	case "/ppsecure/post.srf":
		_ = r.ParseForm()
		f := r.PostForm
		if !e.ppft[f.Get("PPFT")] || cookie(r, "MSPOK") == "" || !strings.HasPrefix(cookie(r, "CkTst"), "G") {
			page(w, `<script>var ServerData={sErrTxt:'Your session has expired. Please try again.'};</script>`)
			return
		}
		if opid := f.Get("opid"); opid != "" {
			u := e.opids[opid]
			if u == nil {
				page(w, `<script>var ServerData={sErrTxt:'Something went wrong. Please try again.'};</script>`)
				return
			}
			delete(e.opids, opid)
			t := "tlive-" + randHex(16)
			e.tickets[t] = u
			page(w, `<form name="fmPost" action="https://lw.skype.com/login/oauth/proxy" method="post">`+hidden("t", t)+`</form>`)
			return
		}
		u := e.userByLogin(f.Get("login"))
		if u == nil || (f.Get("passwd") != u.Password && (u.AppPassword == "" || f.Get("passwd") != u.AppPassword)) {
			page(w, `<script>var ServerData={sErrTxt:'Your account or password is incorrect. If you don\'t remember your password, <a href=\"#\">reset it now.</a>'};</script>`)
			return
		}
		if u.TwoStep && f.Get("passwd") != u.AppPassword {
			page(w, `<form name="fmHF" id="fmHF" action="https://account.live.com/proofs/Verify" method="post">`+hidden("pprid", randHex(4))+`</form>`)
			return
		}
		opid := strings.ToUpper(randHex(8))
		e.opids[opid] = u
		page(w, `<script>var ServerData={urlPost:'/ppsecure/post.srf?wa=wsignin1.0&opid=`+opid+`&route=C105'};</script>`)
	case "/login/microsoft":
		_ = r.ParseForm()
		u := e.tickets[r.PostForm.Get("t")]
		if u == nil {
			page(w, `<script>var ServerData={sErrTxt:'We could not sign you in.'};</script>`)
			return
		}
		delete(e.tickets, r.PostForm.Get("t"))
		page(w, `<form id="redirectForm" method="post" action="https://web.skype.com">`+hidden("skypetoken", e.mintTokenLocked(u))+
			hidden("expires_in", fmt.Sprint(int(e.opts.TokenLifetime.Seconds())))+`</form>`)
	case "/login":
		u := e.skypeTokenUser(cookie(r, "refresh-token"))
		if u == nil {
			page(w, `<p>Sign in to Skype</p>`)
			return
		}
		t := "tref-" + randHex(16)
		e.tickets[t] = u
		page(w, `<form method="post" action="/login/microsoft">`+hidden("t", t)+`</form>`)
	}
}

func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	v, _ := url.QueryUnescape(c.Value)
	return v
}

func (e *Emulator) apiUser(w http.ResponseWriter, r *http.Request) *User {
	u := e.skypeTokenUser(r.Header.Get("X-SkypeToken"))
	if u == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": map[string]any{"code": 40100, "text": "Authentication failed."}})
	}
	return u
}

func splitName(n string) (string, string) {
	first, last, _ := strings.Cut(n, " ")
	return first, last
}

// handleProfile serves api.skype.com/users/self/profile and profile/partial.
func (e *Emulator) handleProfile(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.apiUser(w, r)
	if u == nil {
		return
	}
	if r.URL.Path == "/users/self/profile" && r.Method == http.MethodGet {
		first, last := splitName(u.DisplayName)
		writeJSON(w, http.StatusOK, map[string]any{"username": u.Name, "firstname": first, "lastname": last, "avatarUrl": nil, "mood": u.Mood, "richMood": u.Mood})
		return
	}
	if r.URL.Path == "/users/"+u.Name+"/profile/partial" && r.Method == http.MethodPost {
		var b struct {
			Payload struct {
				Mood *string `json:"mood"`
			} `json:"payload"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b)
		if b.Payload.Mood != nil {
			u.Mood = *b.Payload.Mood
		}
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	http.NotFound(w, r)
}

func (e *Emulator) contactView(mri string) map[string]any {
	c := e.users[strings.TrimPrefix(mri, "8:")]
	if c == nil {
		return map[string]any{"mri": mri, "display_name": strings.TrimPrefix(mri, "8:"), "authorized": true}
	}
	first, last := splitName(c.DisplayName)
	return map[string]any{"mri": mri, "display_name": c.DisplayName, "authorized": true, "blocked": false, "favorite": false,
		"profile": map[string]any{"avatar_url": nil, "name": map[string]any{"first": first, "surname": last}, "mood": c.Mood}}
}

// handleContacts serves contacts.skype.com/contacts/v2/users/{me}/...
func (e *Emulator) handleContacts(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.apiUser(w, r)
	if u == nil {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/contacts/v2/users/"+u.Name)
	if !ok {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "not your contact list"})
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, mri := range u.contacts {
			list = append(list, e.contactView(mri))
		}
		// A suggestion the client must not treat as a contact.
		list = append(list, map[string]any{"mri": "8:echo123", "display_name": "Echo / Sound Test Service", "suggested": true, "authorized": false})
		writeJSON(w, http.StatusOK, map[string]any{"contacts": list, "groups": []any{}, "blocklist": []any{}, "count": len(list), "scope": "full"})
	case rest == "/invites" && r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, mri := range u.invites {
			list = append(list, map[string]any{"mri": mri, "invites": []map[string]any{{"message": "Hi, add me", "time": "2024-01-01T00:00:00Z"}}})
		}
		writeJSON(w, http.StatusOK, map[string]any{"invite_list": list})
	case strings.HasPrefix(rest, "/invites/") && r.Method == http.MethodPut:
		parts := strings.Split(strings.TrimPrefix(rest, "/invites/"), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		mri, verb := parts[0], parts[1]
		found := false
		for i, m := range u.invites {
			if m == mri {
				u.invites = append(u.invites[:i], u.invites[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "no such invite"})
			return
		}
		if verb == "accept" {
			u.contacts = append(u.contacts, mri)
			if other := e.users[strings.TrimPrefix(mri, "8:")]; other != nil {
				other.contacts = append(other.contacts, u.MRI())
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case rest == "/contacts" && r.Method == http.MethodPost:
		var b struct {
			MRI      string `json:"mri"`
			Greeting string `json:"greeting"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b)
		other := e.users[strings.TrimPrefix(b.MRI, "8:")]
		if other == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "unknown user"})
			return
		}
		other.invites = append(other.invites, u.MRI())
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		http.NotFound(w, r)
	}
}

// handleBatchProfiles serves profile.skype.com/profile/v1/batch/profiles.
func (e *Emulator) handleBatchProfiles(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.apiUser(w, r) == nil {
		return
	}
	var b struct {
		Usernames []string `json:"usernames"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b)
	out := []map[string]any{}
	for _, n := range b.Usernames {
		if u := e.users[n]; u != nil {
			first, last := splitName(u.DisplayName)
			out = append(out, map[string]any{"username": u.Name, "firstname": first, "lastname": last, "displayname": u.DisplayName, "mood": u.Mood})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAPILogin is the legacy api.skype.com/login/skypetoken.
func (e *Emulator) handleAPILogin(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Username     string `json:"username"`
		PasswordHash string `json:"passwordHash"`
		Scopes       string `json:"scopes"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b); err != nil || b.Scopes != "client" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": map[string]any{"code": 40000, "text": "Bad request"}})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[b.Username]
	if u == nil || b.PasswordHash != passwordHash(u.Name, u.Password) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": map[string]any{"code": 40120, "text": "Authentication failed. Bad username or password."}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"skypetoken": e.mintTokenLocked(u), "expiresIn": int(e.opts.TokenLifetime.Seconds())})
}

func passwordHash(user, password string) string {
	sum := md5.Sum([]byte(user + "\nskyper\n" + password))
	return base64.StdEncoding.EncodeToString(sum[:])
}
