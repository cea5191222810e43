package bridgekit

import (
	"encoding/json"
	"sync"
	"testing"
)

type lockedMeta struct {
	Token string `json:"token"`
	Name  string `json:"name"`
	lock  MetaLock
}

func (m *lockedMeta) MarshalJSON() ([]byte, error) {
	type fields lockedMeta
	return m.lock.Marshal((*fields)(m))
}

// The metadata marshals as its fields (not through its own MarshalJSON
// again), and a token renewed meanwhile is either the old or the new one,
// never a torn read (run with -race to see the lock at work).
func TestMetaLock(t *testing.T) {
	m := &lockedMeta{Token: "t0", Name: "alice"}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			m.lock.Set(&m.Token, "t1")
		}
	}()
	for range 200 {
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ Token, Name string }
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if (back.Token != "t0" && back.Token != "t1") || back.Name != "alice" {
			t.Fatalf("marshalled %s", raw)
		}
	}
	wg.Wait()
	if got := m.lock.Get(&m.Token); got != "t1" {
		t.Fatalf("token %q after the renewals, want t1", got)
	}
}
