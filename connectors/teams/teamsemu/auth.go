package teamsemu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Scopes the emulator recognises as the skypetoken audience.
const (
	WorkSpacesScope  = "https://api.spaces.skype.com/.default"
	ConsumerMBIScope = "service::api.fl.spaces.skype.com::MBI_SSL"
	spaClientID      = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"
)

type deviceCode struct {
	code, userCode string
	clientID       string
	tenant         string
	scope          string
	expires        time.Time
	user           *User // set when approved
	declined       bool
	redeemed       bool
	polls          int
}

type accessToken struct {
	user     *User
	audience string // first scope
	expires  time.Time
}

type refreshToken struct {
	expires  time.Time // zero: never
	user     *User
	clientID string
	scope    string
	revoked  bool
	used     bool
}

type skypeToken struct {
	user    *User
	expires time.Time
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{}, "timestamp": time.Now().UTC().Format(time.DateTime)})
}

// handleDeviceCode serves POST /{tenant}/oauth2[/v2.0]/devicecode.
func (e *Emulator) handleDeviceCode(w http.ResponseWriter, r *http.Request, tenant string, v1 bool) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	}
	scope := r.PostForm.Get("scope")
	if v1 {
		scope = r.PostForm.Get("resource")
	}
	e.mu.Lock()
	dc := &deviceCode{code: randHex(24), userCode: strings.ToUpper(randHex(4)), clientID: r.PostForm.Get("client_id"),
		tenant: tenant, scope: scope, expires: e.now().Add(e.opts.DeviceCodeTTL)}
	e.devices[dc.code] = dc
	e.broadcast()
	e.mu.Unlock()
	resp := map[string]any{"user_code": dc.userCode, "device_code": dc.code, "expires_in": int(e.opts.DeviceCodeTTL / time.Second),
		"interval": e.opts.DeviceInterval, "message": "To sign in, use a web browser to open the page " + e.URL() + "/devicelogin and enter the code " + dc.userCode + " to authenticate."}
	if v1 {
		resp["verification_url"] = e.URL() + "/devicelogin"
	} else {
		resp["verification_uri"] = e.URL() + "/devicelogin"
	}
	writeJSON(w, http.StatusOK, resp)
}

// PendingDeviceCodes lists the user codes waiting for approval.
func (e *Emulator) PendingDeviceCodes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, dc := range e.devices {
		if dc.user == nil && !dc.declined && e.now().Before(dc.expires) {
			out = append(out, dc.userCode)
		}
	}
	return out
}

// DeviceCodePolls is how often the client polled for userCode.
func (e *Emulator) DeviceCodePolls(userCode string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, dc := range e.devices {
		if dc.userCode == userCode {
			return dc.polls
		}
	}
	return 0
}

// ApproveDeviceCode signs the user with email in on the device showing userCode.
func (e *Emulator) ApproveDeviceCode(userCode, email string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.usersByKey[strings.ToLower(email)]
	for _, dc := range e.devices {
		if strings.EqualFold(dc.userCode, userCode) && u != nil {
			dc.user = u
			e.broadcast()
			return true
		}
	}
	return false
}

// DeclineDeviceCode makes the user refuse the sign-in.
func (e *Emulator) DeclineDeviceCode(userCode string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, dc := range e.devices {
		if strings.EqualFold(dc.userCode, userCode) {
			dc.declined = true
			e.broadcast()
			return true
		}
	}
	return false
}

func tenantAllows(tenant string, u *User) bool {
	switch strings.ToLower(tenant) {
	case "common":
		return true
	case "consumers", ConsumerTenant:
		return u.Consumer
	case "organizations":
		return !u.Consumer
	}
	return !u.Consumer && strings.EqualFold(tenant, u.Tenant)
}

// handleToken serves POST /{tenant}/oauth2[/v2.0]/token.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request, tenant string, v1 bool) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: malformed body")
		return
	}
	f := r.PostForm
	e.mu.Lock()
	defer e.mu.Unlock()
	switch f.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code":
		code := f.Get("device_code")
		if code == "" {
			code = f.Get("code")
		}
		dc := e.devices[code]
		switch {
		case dc == nil || dc.redeemed:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70000: Provided grant is invalid or malformed.")
			return
		case !e.now().Before(dc.expires):
			oauthError(w, http.StatusBadRequest, "expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
			return
		case dc.declined:
			oauthError(w, http.StatusBadRequest, "authorization_declined", "AADSTS70019: The end user declined the authorization request.")
			return
		case dc.user == nil:
			dc.polls++
			e.broadcast()
			oauthError(w, http.StatusBadRequest, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
			return
		}
		if !tenantAllows(tenant, dc.user) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS50020: User account from identity provider does not exist in tenant "+tenant+".")
			return
		}
		dc.redeemed = true
		e.issueTokensLocked(w, dc.user, dc.clientID, firstNonEmpty(f.Get("scope"), dc.scope), v1)
	case "refresh_token":
		rt := e.refresh[f.Get("refresh_token")]
		if rt != nil && rt.clientID == spaClientID && r.Header.Get("Origin") == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.")
			return
		}
		switch {
		case rt == nil:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS9002313: Invalid request. Request is malformed or invalid.")
			return
		case rt.revoked:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.")
			return
		case !rt.expires.IsZero() && !e.now().Before(rt.expires):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.")
			return
		case rt.used && !e.opts.LenientRotation:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.")
			return
		case !tenantAllows(tenant, rt.user):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS50020: User account does not exist in tenant "+tenant+".")
			return
		}
		rt.used = true
		e.issueTokensLocked(w, rt.user, rt.clientID, firstNonEmpty(f.Get("scope"), f.Get("resource"), rt.scope), v1)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
	}
}

func (e *Emulator) issueTokensLocked(w http.ResponseWriter, u *User, clientID, scope string, v1 bool) {
	at := "eyJ0eXAiOiJKV1QifQ." + randHex(24)
	aud, _, _ := strings.Cut(strings.TrimSpace(scope), " ")
	e.access[at] = &accessToken{user: u, audience: aud, expires: e.now().Add(e.opts.AccessTokenTTL)}
	rt := "1.A" + randHex(32)
	e.refresh[rt] = &refreshToken{user: u, clientID: clientID, scope: scope}
	if e.opts.RefreshTokenTTL > 0 {
		e.refresh[rt].expires = e.now().Add(e.opts.RefreshTokenTTL)
	}
	e.broadcast()
	body := map[string]any{"token_type": "Bearer", "scope": scope, "expires_in": int(e.opts.AccessTokenTTL / time.Second),
		"ext_expires_in": int(e.opts.AccessTokenTTL / time.Second), "access_token": at, "refresh_token": rt, "id_token": idToken(u)}
	if v1 {
		body["resource"] = aud
	}
	writeJSON(w, http.StatusOK, body)
}

func idToken(u *User) string {
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{"tid": u.Tenant, "oid": u.OID, "name": u.Name, "preferred_username": u.Email})
	return enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims) + "."
}

// bearerUser validates "Authorization: Bearer <t>" for audience (any
// audience when empty); caller holds e.mu.
func (e *Emulator) bearerUserLocked(r *http.Request, audience string) *User {
	v := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(v, "Bearer ")
	if !ok {
		return nil
	}
	at := e.access[strings.TrimSpace(tok)]
	if at == nil || !e.now().Before(at.expires) {
		return nil
	}
	if audience != "" && !strings.EqualFold(at.audience, audience) {
		return nil
	}
	return at.user
}

// handleAuthz serves both authz endpoints.
func (e *Emulator) handleAuthz(w http.ResponseWriter, r *http.Request, consumer bool) {
	aud := WorkSpacesScope
	if consumer {
		aud = ConsumerMBIScope
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.bearerUserLocked(r, aud)
	if u == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errorCode": "InvalidAuthenticationToken", "message": "Authentication failed: bearer token missing, expired or for the wrong audience."})
		return
	}
	if u.Consumer != consumer {
		writeJSON(w, http.StatusForbidden, map[string]any{"errorCode": "UserTypeMismatch", "message": "This endpoint serves only " + map[bool]string{true: "consumer", false: "work"}[consumer] + " accounts."})
		return
	}
	if !u.Licensed {
		writeJSON(w, http.StatusForbidden, map[string]any{"errorCode": "UserLicenseNotPresentForbidden", "message": "User Login. Teams is disabled in user licenses"})
		return
	}
	tok := "eyJhbGciOiJSUzI1NiJ9." + randHex(32)
	e.skype[tok] = &skypeToken{user: u, expires: e.now().Add(e.opts.SkypeTokenTTL)}
	e.broadcast()
	ttl := int(e.opts.SkypeTokenTTL / time.Second)
	gtms := map[string]string{
		"chatService": e.base, "chatServiceAfd": e.base, "chatServiceAggregator": e.base + "/csa",
		"middleTier": e.base + "/mt", "ams": e.base + "/ams", "amsV2": e.base + "/ams",
		"unifiedPresence": e.base + "/presence", "search": e.base + "/search", "urlp": e.base + "/urlp",
	}
	if consumer {
		body := map[string]any{"skypeToken": map[string]any{"skypetoken": tok, "expiresIn": ttl,
			"skypeid": strings.TrimPrefix(u.MRI, "8:"), "signinname": u.Email, "isBusinessTenant": false}}
		if e.opts.ConsumerRegionGtms {
			body["regionGtms"] = gtms
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tokens": map[string]any{"skypeToken": tok, "expiresIn": ttl, "tokenType": "SkypeToken"},
		"region": "emea", "partition": "emea01", "userRegion": "at", "userPartition": "at01",
		"regionGtms": gtms, "regionSettings": map[string]any{"isUnifiedPresenceEnabled": true}, "licenseDetails": map[string]any{"isFreemium": false},
	})
}

// skypeUserLocked validates the skypetoken in any header variant the
// clients use; caller holds e.mu.
func (e *Emulator) skypeUserLocked(r *http.Request) *User {
	var tok string
	if v := r.Header.Get("Authentication"); v != "" {
		tok, _ = strings.CutPrefix(v, "skypetoken=")
	} else if v := r.Header.Get("X-Skypetoken"); v != "" {
		tok = v
	} else if v := r.Header.Get("Authorization"); strings.HasPrefix(v, "skype_token ") {
		tok = strings.TrimPrefix(v, "skype_token ")
	}
	st := e.skype[strings.TrimSpace(tok)]
	if st == nil || !e.now().Before(st.expires) {
		return nil
	}
	return st.user
}

// ExpireSkypeTokens makes every skypetoken of the user invalid now.
func (e *Emulator) ExpireSkypeTokens(mri string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(mri)
	for _, st := range e.skype {
		if st.user == u {
			st.expires = e.now().Add(-time.Second)
		}
	}
}

// ExpireAccessTokens makes every AAD access token of the user invalid now.
func (e *Emulator) ExpireAccessTokens(mri string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(mri)
	for _, at := range e.access {
		if at.user == u {
			at.expires = e.now().Add(-time.Second)
		}
	}
}

// RevokeRefreshTokens revokes every refresh token of the user.
func (e *Emulator) RevokeRefreshTokens(mri string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(mri)
	for _, rt := range e.refresh {
		if rt.user == u {
			rt.revoked = true
		}
	}
}

// TokenGrants counts token-endpoint grants issued to the user (to assert a
// client does not hammer the endpoint).
func (e *Emulator) TokenGrants(mri string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.mustUser(mri)
	n := 0
	for _, rt := range e.refresh {
		if rt.user == u {
			n++
		}
	}
	return n
}

// IssueRefreshToken mints a refresh token for the user as if they had
// signed in elsewhere (the "paste a refresh token" login).
func (e *Emulator) IssueRefreshToken(mri, clientID, scope string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	rt := "1.A" + randHex(32)
	e.refresh[rt] = &refreshToken{user: e.mustUser(mri), clientID: clientID, scope: scope}
	return rt
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// MintSkypeToken issues a skypetoken for the user directly (for tests of the
// chat-service client that skip the sign-in chain).
func (e *Emulator) MintSkypeToken(mri string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	tok := "eyJhbGciOiJSUzI1NiJ9." + randHex(32)
	e.skype[tok] = &skypeToken{user: e.mustUser(mri), expires: e.now().Add(e.opts.SkypeTokenTTL)}
	return tok
}
