package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/bridge/ids"
)

type lyncMeta struct {
	Endpoint string `json:"endpoint"`
}

func TestMetadataRoundTrip(t *testing.T) {
	raw, err := json.Marshal(NewMetadata(ids.Lync, &lyncMeta{Endpoint: "e1"}))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"lync":{"endpoint":"e1"}}` {
		t.Fatalf("encoded = %s", raw)
	}
	create := MetadataCreator(map[ids.Protocol]func() any{ids.Lync: func() any { return &lyncMeta{} }})
	m := create().(*Metadata)
	if err = json.Unmarshal(raw, m); err != nil {
		t.Fatal(err)
	}
	got, err := Meta[lyncMeta](ids.Lync, m)
	if err != nil || got.Endpoint != "e1" {
		t.Fatalf("Meta = %+v, %v", got, err)
	}
	if _, err = Meta[lyncMeta](ids.Teams, m); !errors.Is(err, ids.ErrForeignID) {
		t.Fatalf("reading lync metadata as teams: %v, want ErrForeignID", err)
	}
}

func TestMetadataOfUnbuiltProtocolIsKept(t *testing.T) {
	create := MetadataCreator(nil)
	m := create().(*Metadata)
	in := `{"skype":{"skypeToken":"x","n":1}}`
	if err := json.Unmarshal([]byte(in), m); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(m)
	if err != nil || string(out) != `{"skype":{"skypeToken":"x","n":1}}` {
		t.Fatalf("re-encoded = %s, %v; the unknown protocol's data must survive", out, err)
	}
}

func TestEmptyMetadataBecomesTheCallersProtocol(t *testing.T) {
	m := MetadataCreator(nil)().(*Metadata)
	if err := json.Unmarshal([]byte(`{}`), m); err != nil {
		t.Fatal(err)
	}
	v, err := Meta[lyncMeta](ids.Lync, m)
	if err != nil {
		t.Fatal(err)
	}
	v.Endpoint = "new"
	out, _ := json.Marshal(m)
	if string(out) != `{"lync":{"endpoint":"new"}}` {
		t.Fatalf("encoded = %s", out)
	}
}

func TestMetadataRejectsGarbage(t *testing.T) {
	m := MetadataCreator(nil)().(*Metadata)
	for _, bad := range []string{`[1]`, `{"lync":{},"teams":{}}`, `"x"`} {
		if err := json.Unmarshal([]byte(bad), m); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func TestDirectlyWrittenMetadataDoesNotLoad(t *testing.T) {
	// What bridgev2 stores when a connector puts its own struct in a
	// metadata field instead of a *Metadata.
	raw, _ := json.Marshal(&lyncMeta{Endpoint: "e1"})
	m := MetadataCreator(map[ids.Protocol]func() any{ids.Lync: func() any { return &lyncMeta{} }})().(*Metadata)
	if err := json.Unmarshal(raw, m); err == nil {
		t.Fatalf("%s loaded as metadata of protocol %q", raw, m.Protocol)
	}
	two, _ := json.Marshal(map[string]string{"a": "1", "b": "2"})
	if err := json.Unmarshal(two, m); err == nil || !strings.Contains(err.Error(), "not a protocol") {
		t.Fatalf("a two-field struct: %v", err)
	}
}

func TestKindTiesTheProtocolToItsType(t *testing.T) {
	kind := NewKind[lyncMeta](ids.Lync)
	raw, err := json.Marshal(kind.Wrap(&lyncMeta{Endpoint: "e2"}))
	if err != nil || string(raw) != `{"lync":{"endpoint":"e2"}}` {
		t.Fatalf("Wrap = %s, %v", raw, err)
	}
	m := MetadataCreator(map[ids.Protocol]func() any{ids.Lync: kind.Creator()})().(*Metadata)
	if err = json.Unmarshal(raw, m); err != nil {
		t.Fatal(err)
	}
	if got, err := kind.Get(m); err != nil || got.Endpoint != "e2" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err = NewKind[lyncMeta](ids.Teams).Get(m); !errors.Is(err, ids.ErrForeignID) {
		t.Fatalf("a teams kind read lync metadata: %v", err)
	}
	if _, err = json.Marshal(&Metadata{Value: &lyncMeta{}}); err == nil {
		t.Fatal("metadata without a protocol was encoded")
	}
	if _, err = json.Marshal(&Metadata{Protocol: "nope", Value: &lyncMeta{}}); err == nil {
		t.Fatal("metadata of an unknown protocol was encoded")
	}
}
