package bridge_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
	"github.com/imbridge/imbridge/internal/bridgetest"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

// §4: metadata a connector writes without the union (or under the wrong
// protocol) is found by the harness, which reloads every row of every test.
func TestHarnessFindsMetadataWrittenOutsideTheUnion(t *testing.T) {
	conn, lync, _ := newConn()
	h := bridgetest.New(t, conn, bridgetest.Options{NetworkConfig: bothEnabled})
	login(t, h, "lync", "alice@corp.example")
	lync.Clients["lync.alice@corp.example"].Receive("c1", "m1", "hi")
	key := networkid.PortalKey{ID: ids.PortalID(ids.Lync, "c1"), Receiver: "lync.alice@corp.example"}
	h.PortalRoom(key)
	if err := h.CheckStoredMetadata(h.Ctx); err != nil {
		t.Fatalf("rows written through the union do not load: %v", err)
	}
	portal, err := h.Bridge.GetExistingPortalByKey(h.Ctx, key)
	if err != nil || portal == nil {
		t.Fatal(portal, err)
	}
	save := func(md any) {
		t.Helper()
		portal.Metadata = md
		if err := portal.Save(h.Ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A connector's own struct, stored directly.
	save(&fakeproto.PortalMeta{Topic: "raw"})
	if err = h.CheckStoredMetadata(h.Ctx); err == nil || !strings.Contains(err.Error(), `portal "lync.c1"`) {
		t.Fatalf("a directly written struct was not reported: %v", err)
	}
	// The union, but another protocol's.
	save(fakePortalKind(ids.Teams).Wrap(&fakeproto.PortalMeta{Topic: "teams"}))
	if err = h.CheckStoredMetadata(h.Ctx); err == nil || !strings.Contains(err.Error(), "holds teams metadata") {
		t.Fatalf("teams metadata on a lync portal was not reported: %v", err)
	}
	// A row whose ID has no protocol prefix.
	save(fakePortalKind(ids.Lync).Wrap(&fakeproto.PortalMeta{Topic: "ok"}))
	if _, err = h.Bridge.GetGhostByID(h.Ctx, "no-prefix"); err != nil {
		t.Fatal(err)
	}
	if err = h.CheckStoredMetadata(h.Ctx); err == nil || !strings.Contains(err.Error(), `ghost "no-prefix"`) {
		t.Fatalf("a ghost without protocol prefix was not reported: %v", err)
	}
	if _, err = h.DB.Exec(h.Ctx, `DELETE FROM ghost WHERE id='no-prefix'`); err != nil {
		t.Fatal(err)
	}
	// Repaired: the harness's own check at Stop passes.
	save(fakePortalKind(ids.Lync).Wrap(&fakeproto.PortalMeta{Topic: "ok"}))
	if err = h.CheckStoredMetadata(h.Ctx); err != nil {
		t.Fatal(err)
	}
}

func fakePortalKind(p ids.Protocol) protocol.Kind[fakeproto.PortalMeta] {
	return protocol.NewKind[fakeproto.PortalMeta](p)
}
