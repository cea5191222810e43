package bridge

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/internal/bridgetest/fakeproto"
)

// leaf is one settable field of the capabilities struct, as a path of field
// indexes (through nested structs and pointers to structs).
type leaf struct {
	name string
	path []int
}

func leaves(t reflect.Type, prefix string, path []int) []leaf {
	var out []leaf
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		p := append(append([]int(nil), path...), i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.NumField() > 0 && ft.PkgPath() == t.PkgPath() {
			out = append(out, leaves(ft, prefix+f.Name+".", p)...)
			continue
		}
		out = append(out, leaf{prefix + f.Name, p})
	}
	return out
}

// field walks to a leaf, allocating pointers on the way when alloc is set.
func field(v reflect.Value, path []int, alloc bool) (reflect.Value, bool) {
	for _, i := range path {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, true
}

// setNonZero gives a leaf a non-zero value of its type.
func setNonZero(t *testing.T, v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(time.Minute))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(60)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		m.SetMapIndex(reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem())
		v.Set(m)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	default:
		t.Fatalf("capabilities field %s has kind %s, which this test cannot fill; extend it and the merge", name, v.Kind())
	}
}

// TestCapabilityMergeCoversEveryField sets each field of bridgev2's general
// capabilities in one protocol only and checks the merge keeps it, whichever
// protocol comes first. A field bridgev2 adds and the merge ignores fails here.
func TestCapabilityMergeCoversEveryField(t *testing.T) {
	all := leaves(reflect.TypeOf(bridgev2.NetworkGeneralCapabilities{}), "", nil)
	if len(all) < 15 {
		t.Fatalf("found only %d capability fields: %v", len(all), all)
	}
	for _, l := range all {
		for _, order := range []string{"set first", "set second"} {
			caps := &bridgev2.NetworkGeneralCapabilities{}
			target, _ := field(reflect.ValueOf(caps).Elem(), l.path, true)
			setNonZero(t, target, l.name)
			if out := caps.OutgoingMessageTimeouts; out != nil && out.NoAckTimeout == 0 && out.NoEchoTimeout == 0 {
				// A config without any timeout means no timeout loop at all
				// (merged to nil); give it one so the other fields show.
				out.NoAckTimeout = time.Minute
			}
			in := []protocolCaps{{ids.Lync, caps}, {ids.Teams, &bridgev2.NetworkGeneralCapabilities{}}}
			if order == "set second" {
				in[0], in[1] = in[1], in[0]
			}
			merged := mergeCapabilities(in)
			got, ok := field(reflect.ValueOf(merged).Elem(), l.path, false)
			if !ok || got.IsZero() {
				t.Errorf("merge drops %s (%s)", l.name, order)
			}
		}
	}
}

func TestTimeoutMergeKeepsTheLongest(t *testing.T) {
	short := &bridgev2.OutgoingTimeoutConfig{CheckInterval: 5 * time.Second, NoAckTimeout: time.Minute, NoAckMessage: "short ack", NoEchoTimeout: 2 * time.Minute, NoEchoMessage: "short echo"}
	long := &bridgev2.OutgoingTimeoutConfig{CheckInterval: 30 * time.Second, NoAckTimeout: 3 * time.Minute, NoAckMessage: "long ack", NoEchoTimeout: time.Minute, NoEchoMessage: "long echo"}
	for _, in := range [][]*bridgev2.OutgoingTimeoutConfig{{short, long}, {long, short}} {
		got := mergeTimeouts(in)
		want := bridgev2.OutgoingTimeoutConfig{CheckInterval: 5 * time.Second, NoAckTimeout: 3 * time.Minute, NoAckMessage: "long ack", NoEchoTimeout: 2 * time.Minute, NoEchoMessage: "short echo"}
		if got == nil || *got != want {
			t.Errorf("merge = %+v, want %+v", got, want)
		}
	}
	never := &bridgev2.OutgoingTimeoutConfig{CheckInterval: time.Second, NoAckTimeout: 0, NoEchoTimeout: time.Hour}
	if got := mergeTimeouts([]*bridgev2.OutgoingTimeoutConfig{short, never}); got.NoAckTimeout != 0 || got.NoEchoTimeout != time.Hour {
		t.Errorf("a protocol without an ack timeout must switch it off for all: %+v", got)
	}
	if got := mergeTimeouts([]*bridgev2.OutgoingTimeoutConfig{{CheckInterval: time.Second}}); got != nil {
		t.Errorf("a config without timeouts must not start a timeout loop: %+v", got)
	}
	if got := mergeTimeouts([]*bridgev2.OutgoingTimeoutConfig{{NoAckTimeout: time.Minute}}); got.CheckInterval <= 0 {
		t.Errorf("check interval 0 would panic bridgev2's ticker: %+v", got)
	}
}

func TestGroupTypesOfTwoProtocolsDoNotCollide(t *testing.T) {
	g := func(desc string) *bridgev2.NetworkGeneralCapabilities {
		return &bridgev2.NetworkGeneralCapabilities{Provisioning: bridgev2.ProvisioningCapabilities{
			GroupCreation: map[string]bridgev2.GroupTypeCapabilities{"group": {TypeDescription: desc}, "teams.channel": {TypeDescription: desc + " channel"}},
		}}
	}
	merged := mergeCapabilities([]protocolCaps{{ids.Lync, g("lync")}, {ids.Teams, g("teams")}})
	got := map[string]string{}
	for k, v := range merged.Provisioning.GroupCreation {
		got[k] = v.TypeDescription
	}
	want := map[string]string{"lync.group": "lync", "teams.group": "teams", "lync.teams.channel": "lync channel", "teams.channel": "teams channel"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("group types = %v, want %v", got, want)
	}
}

type immediateParentProto struct{ *fakeproto.Proto }

func (immediateParentProto) GeneralCapabilities() *bridgev2.NetworkGeneralCapabilities {
	return &bridgev2.NetworkGeneralCapabilities{NetworkIsImmediateParent: true}
}

// NetworkIsImmediateParent is bridge-wide in bridgev2; a protocol that did not
// ask for it still gets the top-level space as its portals' network.
func TestImmediateParentOnlyForTheProtocolThatWantsIt(t *testing.T) {
	c := New(fakeproto.New(ids.Lync), immediateParentProto{fakeproto.New(ids.Teams)})
	c.Config.enabled = map[ids.Protocol]bool{ids.Lync: true, ids.Teams: true}
	if !c.GetCapabilities().NetworkIsImmediateParent {
		t.Fatal("merged NetworkIsImmediateParent should be on when one protocol wants it")
	}
	space := func(p ids.Protocol, native string, parent *bridgev2.Portal) *bridgev2.Portal {
		return &bridgev2.Portal{Portal: &bridgedb.Portal{PortalKey: networkid.PortalKey{ID: ids.PortalID(p, native)}, RoomType: bridgedb.RoomTypeSpace, Name: native}, Parent: parent}
	}
	for _, tc := range []struct {
		p    ids.Protocol
		want string
	}{{ids.Lync, "top"}, {ids.Teams, "team"}} {
		top := space(tc.p, "top", nil)
		mid := space(tc.p, "team", top)
		room := &bridgev2.Portal{Portal: &bridgedb.Portal{PortalKey: networkid.PortalKey{ID: ids.PortalID(tc.p, "chan")}}, Parent: mid}
		// What bridgev2 fills in with the merged (true) flag: the immediate parent.
		content := &event.BridgeEventContent{Network: &event.BridgeInfoSection{ID: string(mid.ID), DisplayName: mid.Name}}
		c.FillPortalBridgeInfo(room, content)
		if content.Network == nil || content.Network.DisplayName != tc.want {
			t.Errorf("%s portal network = %+v, want %s", tc.p, content.Network, tc.want)
		}
	}
}
