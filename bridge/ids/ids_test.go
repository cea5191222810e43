package ids

import (
	"errors"
	"testing"

	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/id"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		p      Protocol
		native string
	}{
		{Lync, "AdI5/JVLEqc1Sn3OCUCviKuBNKZMFw=="},
		{Teams, "19:abc.def@thread.v2"},
		{Skype, "8:live:.cid.1234"},
		{Lync, "a.b.c"},
	} {
		got, err := Parse(tc.p, Make(tc.p, tc.native))
		if err != nil || got != tc.native {
			t.Errorf("Parse(Make(%s, %q)) = %q, %v", tc.p, tc.native, got, err)
		}
	}
}

func TestAddressesFoldCaseAndMakeReadableMXIDs(t *testing.T) {
	if UserID(Lync, "Alice@Corp.Example") != UserID(Lync, "alice@corp.example") {
		t.Fatal("addresses differing only in case must be the same ghost")
	}
	local := id.EncodeUserLocalpart(string(UserID(Lync, "Sandeep.Shantharam@Contoso.com")))
	if want := "lync.sandeep.shantharam=40contoso.com"; local != want {
		t.Fatalf("ghost localpart = %q, want %q", local, want)
	}
	if PortalID(Lync, "AbC") == PortalID(Lync, "abc") {
		t.Fatal("portal IDs must keep their case")
	}
}

func TestRejectsForeignAndMalformed(t *testing.T) {
	if _, err := Parse(Lync, "teams.x"); !errors.Is(err, ErrForeignID) {
		t.Errorf("foreign prefix: %v", err)
	}
	for _, bad := range []string{"", "lync", "lync.", "irc.x", "x"} {
		if _, err := Parse(Lync, bad); !errors.Is(err, ErrMalformedID) {
			t.Errorf("Parse(%q) = %v, want ErrMalformedID", bad, err)
		}
	}
	if Owns(Lync, "lync.") || Owns(Lync, "lyncx.a") || !Owns(Lync, "lync.a") {
		t.Error("Owns must require the exact prefix and a body")
	}
}

func TestCheckPortal(t *testing.T) {
	ok := networkid.PortalKey{ID: "lync.conv", Receiver: "lync.alice@corp"}
	if err := CheckPortal(Lync, ok); err != nil {
		t.Fatalf("own portal refused: %v", err)
	}
	for _, key := range []networkid.PortalKey{
		{ID: "teams.conv"},
		{ID: "lync.conv", Receiver: "teams.alice@corp"},
		{ID: "conv"},
	} {
		if err := CheckPortal(Lync, key); !errors.Is(err, ErrForeignID) {
			t.Errorf("CheckPortal(%+v) = %v, want ErrForeignID", key, err)
		}
	}
}

func TestIdentifierSyntax(t *testing.T) {
	for _, tc := range []struct {
		in   string
		p    Protocol
		rest string
	}{
		{"teams:alice@corp.example", Teams, "alice@corp.example"},
		{"  Lync : bob@corp.example ", Lync, "bob@corp.example"},
		{"sip:bob@corp.example", "", "sip:bob@corp.example"},
		{"bob@corp.example", "", "bob@corp.example"},
		{"teams:", "", "teams:"},
		{"8:orgid:1234", "", "8:orgid:1234"},
		{"skype:live:.cid.12", Skype, "live:.cid.12"},
	} {
		p, rest := ParseIdentifier(tc.in)
		if p != tc.p || rest != tc.rest {
			t.Errorf("ParseIdentifier(%q) = %q, %q; want %q, %q", tc.in, p, rest, tc.p, tc.rest)
		}
	}
	if got := QualifyIdentifier(Teams, "a@b.c"); got != "teams:a@b.c" {
		t.Errorf("QualifyIdentifier = %q", got)
	}
	for _, tc := range []struct {
		in, native string
		own        bool
	}{
		{"bob@corp.example", "bob@corp.example", true},
		{"lync:bob@corp.example", "bob@corp.example", true},
		{"teams:bob@corp.example", "bob@corp.example", false},
		{"lync.bob@corp.example", "bob@corp.example", true},
		{"teams.8:orgid:x", "8:orgid:x", false},
		{"sip:bob@corp.example", "sip:bob@corp.example", true},
	} {
		native, own := OwnIdentifier(Lync, tc.in)
		if native != tc.native || own != tc.own {
			t.Errorf("OwnIdentifier(lync, %q) = %q, %v; want %q, %v", tc.in, native, own, tc.native, tc.own)
		}
	}
}

func TestMediaAndAvatarIDsCarryTheProtocol(t *testing.T) {
	mid := MediaID(Teams, []byte("https://x/y?z"))
	p, native, err := ParseMediaID(mid)
	if err != nil || p != Teams || string(native) != "https://x/y?z" {
		t.Fatalf("ParseMediaID = %s %q %v", p, native, err)
	}
	if _, _, err = ParseMediaID(networkid.MediaID("nope")); !errors.Is(err, ErrMalformedID) {
		t.Fatalf("unprefixed media ID: %v", err)
	}
	if got := AvatarID(Lync, "photo:bob@corp.example"); got != "lync.photo:bob@corp.example" {
		t.Fatalf("AvatarID = %q", got)
	}
}
