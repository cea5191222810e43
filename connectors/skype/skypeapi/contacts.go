package skypeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Contact is an entry of the contact list.
type Contact struct {
	MRI         string `json:"mri"`
	DisplayName string `json:"display_name"`
	Authorized  bool   `json:"authorized"`
	Blocked     bool   `json:"blocked"`
	Favorite    bool   `json:"favorite"`
	Suggested   bool   `json:"suggested"`
	Profile     struct {
		AvatarURL string `json:"avatar_url"`
		Name      struct {
			First    string `json:"first"`
			Surname  string `json:"surname"`
			Nickname string `json:"nickname"`
		} `json:"name"`
		Mood string `json:"mood"`
	} `json:"profile"`
}

// contactTypePrefix maps the "type" of old-style contact entries (which
// name the user by a bare "id") to the MRI type prefix.
var contactTypePrefix = map[string]string{"skype": "8:", "agent": "28:", "pstn": "4:", "lync": "2:", "msn": "1:"}

// UnmarshalJSON reads both contact list generations: contacts/v2 entries
// ({"mri":"8:joe.4","profile":{...}}, where skpy's fixtures also show a
// bare "joe.4") and the older ones ({"id":"joe.4","type":"skype",
// "name":{...},"avatar_url":...}). MRI always comes out with its prefix.
func (c *Contact) UnmarshalJSON(data []byte) error {
	type plain Contact
	var raw struct {
		plain
		ID        string `json:"id"`
		PersonID  string `json:"person_id"`
		Type      string `json:"type"`
		AvatarURL string `json:"avatar_url"`
		Mood      string `json:"mood"`
		FirstName string `json:"firstname"`
		LastName  string `json:"lastname"`
		Name      *struct {
			First    string `json:"first"`
			Surname  string `json:"surname"`
			Nickname string `json:"nickname"`
		} `json:"name"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*c = Contact(raw.plain)
	prefix := contactTypePrefix[strings.ToLower(raw.Type)]
	if prefix == "" {
		prefix = "8:"
	}
	c.MRI = typedMRI(firstNonEmpty(c.MRI, raw.PersonID, raw.ID), prefix)
	p := &c.Profile
	p.AvatarURL = firstNonEmpty(p.AvatarURL, raw.AvatarURL)
	p.Mood = firstNonEmpty(p.Mood, raw.Mood)
	if raw.Name != nil {
		p.Name.First = firstNonEmpty(p.Name.First, raw.Name.First)
		p.Name.Surname = firstNonEmpty(p.Name.Surname, raw.Name.Surname)
		p.Name.Nickname = firstNonEmpty(p.Name.Nickname, raw.Name.Nickname)
	}
	p.Name.First = firstNonEmpty(p.Name.First, raw.FirstName)
	p.Name.Surname = firstNonEmpty(p.Name.Surname, raw.LastName)
	return nil
}

// typedMRI adds prefix to an id without a numeric type prefix ("joe.4",
// "live:joe.4"); "8:joe.4" and "28:concierge" stay as they are.
func typedMRI(id, prefix string) string {
	if id == "" {
		return ""
	}
	if i := strings.IndexByte(id, ':'); i > 0 {
		if _, err := strconv.Atoi(id[:i]); err == nil {
			return id
		}
	}
	return prefix + id
}

// Name is the best display name of a contact.
func (c *Contact) Name() string {
	if c.DisplayName != "" {
		return c.DisplayName
	}
	if n := strings.TrimSpace(c.Profile.Name.First + " " + c.Profile.Name.Surname); n != "" {
		return n
	}
	if n := c.Profile.Name.Nickname; n != "" {
		return n
	}
	return strings.TrimPrefix(c.MRI, "8:")
}

// Contacts lists the user's contacts, without suggestions.
func (c *Client) Contacts(ctx context.Context) ([]Contact, error) {
	var body struct {
		Contacts []Contact `json:"contacts"`
	}
	u := c.cfg.ContactsURL + "/contacts/v2/users/" + url.PathEscape(c.Session().UserID) + "?delta&reason=default"
	if err := c.skypeCall(ctx, http.MethodGet, u, nil, &body); err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	out := body.Contacts[:0]
	for _, ct := range body.Contacts {
		if !ct.Suggested {
			out = append(out, ct)
		}
	}
	return out, nil
}

// Invite is a pending contact request.
type Invite struct {
	MRI     string
	Message string
	Time    string
}

// Invites lists pending contact requests.
func (c *Client) Invites(ctx context.Context) ([]Invite, error) {
	var body struct {
		List []struct {
			MRI     string `json:"mri"`
			Invites []struct {
				Message string `json:"message"`
				Time    string `json:"time"`
			} `json:"invites"`
		} `json:"invite_list"`
	}
	if err := c.skypeCall(ctx, http.MethodGet, c.contactsBase()+"/invites", nil, &body); err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	var out []Invite
	for _, l := range body.List {
		inv := Invite{MRI: l.MRI}
		if len(l.Invites) > 0 {
			inv.Message, inv.Time = l.Invites[len(l.Invites)-1].Message, l.Invites[len(l.Invites)-1].Time
		}
		out = append(out, inv)
	}
	return out, nil
}

// AnswerInvite accepts or declines a contact request.
func (c *Client) AnswerInvite(ctx context.Context, mri string, accept bool) error {
	verb := "decline"
	if accept {
		verb = "accept"
	}
	if err := c.skypeCall(ctx, http.MethodPut, c.contactsBase()+"/invites/"+url.PathEscape(mri)+"/"+verb, nil, nil); err != nil {
		return fmt.Errorf("%s invite of %s: %w", verb, mri, err)
	}
	return nil
}

// RequestContact sends a contact request.
func (c *Client) RequestContact(ctx context.Context, mri, greeting string) error {
	if err := c.skypeCall(ctx, http.MethodPost, c.contactsBase()+"/contacts", map[string]string{"mri": mri, "greeting": greeting}, nil); err != nil {
		return fmt.Errorf("request contact %s: %w", mri, err)
	}
	return nil
}

// UserProfile is a profile from the batch lookup.
type UserProfile struct {
	Username    string `json:"username"`
	FirstName   string `json:"firstname"`
	LastName    string `json:"lastname"`
	DisplayName string `json:"displayname"`
	AvatarURL   string `json:"avatarUrl"`
	Mood        string `json:"mood"`
}

// Name is the best display name of a profile.
func (p *UserProfile) Name() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	if n := strings.TrimSpace(p.FirstName + " " + p.LastName); n != "" {
		return n
	}
	return p.Username
}

// Profiles looks up users that need not be contacts (Skype names without 8:).
func (c *Client) Profiles(ctx context.Context, usernames ...string) ([]UserProfile, error) {
	for i, u := range usernames {
		usernames[i] = strings.TrimPrefix(u, "8:")
	}
	var out []UserProfile
	if err := c.skypeCall(ctx, http.MethodPost, c.cfg.ProfileURL+"/profile/v1/batch/profiles", map[string]any{"usernames": usernames}, &out); err != nil {
		return nil, fmt.Errorf("look up profiles: %w", err)
	}
	return out, nil
}

// SetMood sets the user's mood message.
func (c *Client) SetMood(ctx context.Context, mood string) error {
	u := c.cfg.APIURL + "/users/" + url.PathEscape(c.Session().UserID) + "/profile/partial"
	if err := c.skypeCall(ctx, http.MethodPost, u, map[string]any{"payload": map[string]string{"mood": mood}}, nil); err != nil {
		return fmt.Errorf("set mood: %w", err)
	}
	return nil
}

func (c *Client) contactsBase() string {
	return c.cfg.ContactsURL + "/contacts/v2/users/" + url.PathEscape(c.Session().UserID)
}

// skypeCall is a call authenticated with X-SkypeToken (contacts, profiles).
func (c *Client) skypeCall(ctx context.Context, method, u string, in, out any) error {
	h := http.Header{"X-Skypetoken": {c.Session().SkypeToken}, "Accept": {"application/json"}}
	var body *bytes.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
		h.Set("Content-Type", "application/json")
	}
	var resp *http.Response
	var data []byte
	var err error
	if body != nil {
		resp, data, err = doHTTP(ctx, c.cfg.HTTPClient, method, u, h, body)
	} else {
		resp, data, err = doHTTP(ctx, c.cfg.HTTPClient, method, u, h, nil)
	}
	if err != nil {
		return err
	}
	if le := rateLimit("api", resp, data, c.cfg.Now()); le != nil {
		return le
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return &LoginError{Step: "api", Kind: ErrTokenRejected, Code: "401"}
	}
	if resp.StatusCode/100 != 2 {
		code, msg := errorBody(data)
		return fmt.Errorf("%w: HTTP %d %s %s", ErrProtocol, resp.StatusCode, code, msg)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
	}
	return nil
}
