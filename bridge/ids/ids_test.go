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
