package ucwaemu

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"strings"
)

// user is a directory entry. A user with an available application is
// reached through UCWA; otherwise it behaves as an emulated colleague
// driven by its Peer handle.
type user struct {
	addr        string // "alice@contoso.com", lower case
	name        string
	password    string
	title       string
	department  string
	contacts    []string // addresses
	photo       []byte
	photoType   string
	available   string // presence of an emulated colleague
	policy      InvitePolicy
	autoReply   func(text string) string
	hasLoggedIn bool
}

func (u *user) sip() string { return "sip:" + u.addr }

// normalizeAddr turns "sip:Alice@Contoso.com" or "alice@contoso.com" into
// "alice@contoso.com".
func normalizeAddr(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "sip:")
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " /?#\\\"") {
		return "", fmt.Errorf("ucwaemu: %q is not a SIP address", s)
	}
	return s, nil
}

var errUnknownUser = errors.New("ucwaemu: unknown user")

// lookup finds a user by any address form. Caller holds e.mu.
func (e *Emulator) lookup(addr string) (*user, error) {
	a, err := normalizeAddr(addr)
	if err != nil {
		return nil, err
	}
	u, ok := e.users[a]
	if !ok {
		return nil, fmt.Errorf("%w %s", errUnknownUser, a)
	}
	return u, nil
}

// AddUser adds a directory user who can sign in with password (an empty
// password makes an emulated colleague that cannot sign in).
func (e *Emulator) AddUser(sip, displayName, password string) error {
	addr, err := normalizeAddr(sip)
	if err != nil {
		return err
	}
	photo, err := defaultPhoto(addr)
	if err != nil {
		return fmt.Errorf("ucwaemu: photo: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.users[addr]; dup {
		return fmt.Errorf("ucwaemu: user %s exists", addr)
	}
	if displayName == "" {
		displayName = addr
	}
	e.users[addr] = &user{
		addr: addr, name: displayName, password: password,
		photo: photo, photoType: "image/png", available: "Online", policy: PolicyAccept,
	}
	e.notifyLocked()
	return nil
}

// SetPassword changes a user's password, as an administrator or a password
// expiry would; tokens already issued stay valid until they expire.
func (e *Emulator) SetPassword(sip, password string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.lookup(sip)
	if err != nil {
		return err
	}
	u.password = password
	return nil
}

// SetUserDetails sets the job title and department shown in contacts.
func (e *Emulator) SetUserDetails(sip, title, department string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.lookup(sip)
	if err != nil {
		return err
	}
	u.title, u.department = title, department
	return nil
}

// AddContact puts contact on owner's contact list.
func (e *Emulator) AddContact(owner, contact string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, err := e.lookup(owner)
	if err != nil {
		return err
	}
	c, err := e.lookup(contact)
	if err != nil {
		return err
	}
	for _, have := range o.contacts {
		if have == c.addr {
			return nil
		}
	}
	o.contacts = append(o.contacts, c.addr)
	return nil
}

// SetPhoto replaces a user's photo; nil data removes it.
func (e *Emulator) SetPhoto(sip string, data []byte, contentType string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.lookup(sip)
	if err != nil {
		return err
	}
	u.photo, u.photoType = bytes.Clone(data), contentType
	return nil
}

// SetPresence sets the availability shown for an emulated colleague.
func (e *Emulator) SetPresence(sip, availability string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.lookup(sip)
	if err != nil {
		return err
	}
	u.available = availability
	return nil
}

// presenceOf is what contactPresence reports. A user signed in through
// UCWA shows the presence of its available application, or Offline.
// Caller holds e.mu.
func (e *Emulator) presenceOf(u *user) string {
	if !u.hasLoggedIn {
		return u.available
	}
	for _, a := range e.availableApps(u) {
		return a.availability
	}
	return "Offline"
}

// defaultPhoto is a small PNG whose colour derives from the address, so
// tests can tell photos apart.
func defaultPhoto(addr string) ([]byte, error) {
	h := fnv.New32a()
	h.Write([]byte(addr))
	sum := h.Sum32()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	c := color.RGBA{R: byte(sum), G: byte(sum >> 8), B: byte(sum >> 16), A: 255}
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
