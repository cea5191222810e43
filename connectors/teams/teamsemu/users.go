package teamsemu

import (
	"fmt"
	"strings"
)

// ConsumerTenant is the MSA tenant id every consumer id_token carries.
const ConsumerTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// DefaultTenant is the work tenant users get unless told otherwise.
const DefaultTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// User is an account in the emulated deployment.
type User struct {
	MRI      string // 8:orgid:<oid> or 8:live:.cid.<hex>
	Name     string
	Email    string
	Tenant   string
	OID      string // AAD object id (work) or cid (consumer)
	Consumer bool
	// Licensed false makes the work authz answer UserLicenseNotPresentForbidden.
	Licensed bool
	// Availability is the presence others see (default Available).
	Availability string

	picture []byte // profile picture (SetAvatar); guarded by the emulator's lock
}

// AddUser adds a work/school account and returns its MRI.
func (e *Emulator) AddUser(email, name string) *User {
	oid := randUUID()
	return e.addUser(&User{MRI: "8:orgid:" + oid, Name: name, Email: email, Tenant: DefaultTenant, OID: oid, Licensed: true})
}

// AddConsumerUser adds a Teams free (Microsoft account) user.
func (e *Emulator) AddConsumerUser(email, name string) *User {
	cid := randHex(8)
	return e.addUser(&User{MRI: "8:live:.cid." + cid, Name: name, Email: email, Tenant: ConsumerTenant, OID: cid, Consumer: true, Licensed: true})
}

func (e *Emulator) addUser(u *User) *User {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[u.MRI] = u
	e.usersByKey[strings.ToLower(u.Email)] = u
	notes := &conv{id: "48:notes", threadType: "streamofnotes", members: map[string]string{u.MRI: "Admin"}, horizons: map[string]string{}}
	e.convs[notesID(u)] = notes
	return u
}

func notesID(u *User) string { return "48:notes/" + u.MRI }

// UserByEmail finds a user (nil if unknown).
func (e *Emulator) UserByEmail(email string) *User {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.usersByKey[strings.ToLower(email)]
}

func (e *Emulator) mustUser(mri string) *User {
	u := e.users[mri]
	if u == nil {
		if u = e.usersByKey[strings.ToLower(mri)]; u == nil {
			panic(fmt.Sprintf("teamsemu: unknown user %q", mri))
		}
	}
	return u
}

// SetLicensed toggles the Teams license of a work user.
func (e *Emulator) SetLicensed(mri string, licensed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mustUser(mri).Licensed = licensed
}
