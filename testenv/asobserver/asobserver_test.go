package asobserver

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestObserverRecordsPushedMessages(t *testing.T) {
	o, err := Start("benchobs")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := o.Close(); err != nil {
			t.Error(err)
		}
	}()
	push := func(token, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, o.URL+"/_matrix/app/v1/transactions/1", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	txn := `{"events":[
		{"type":"m.room.message","event_id":"$a","room_id":"!r:x","sender":"@u:x","content":{"msgtype":"m.text","body":"hello"}},
		{"type":"m.room.member","event_id":"$b","room_id":"!r:x","sender":"@u:x","state_key":"@u:x","content":{"membership":"join"}}]}`
	if code := push("wrong", txn); code != http.StatusForbidden {
		t.Errorf("a transaction with the wrong hs_token got HTTP %d, want 403", code)
	}
	if _, ok := o.Seen("hello"); ok {
		t.Fatal("a refused transaction was recorded")
	}
	before := time.Now()
	if code := push(o.HSToken, txn); code != http.StatusOK {
		t.Fatalf("a valid transaction got HTTP %d, want 200", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := o.WaitSeen(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if a.EventID != "$a" || a.RoomID != "!r:x" || a.Sender != "@u:x" || a.Time.Before(before) {
		t.Errorf("arrival = %+v, want event $a in !r:x from @u:x stamped after %s", a, before)
	}
	if accepted, refused := o.Transactions(); accepted != 1 || refused != 1 {
		t.Errorf("Transactions() = %d accepted, %d refused; want 1 and 1", accepted, refused)
	}
	if code := push(o.HSToken, "not json"); code != http.StatusBadRequest {
		t.Errorf("a broken transaction got HTTP %d, want 400", code)
	}
}

func TestObserverRegistration(t *testing.T) {
	o, err := Start("bench.obs")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	path := filepath.Join(t.TempDir(), "reg.yaml")
	if err := o.WriteRegistration(path, "imbridge.test"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		URL        string `yaml:"url"`
		ASToken    string `yaml:"as_token"`
		HSToken    string `yaml:"hs_token"`
		Sender     string `yaml:"sender_localpart"`
		Namespaces struct {
			Users []struct {
				Exclusive bool   `yaml:"exclusive"`
				Regex     string `yaml:"regex"`
			} `yaml:"users"`
		} `yaml:"namespaces"`
	}
	if err := yaml.Unmarshal(data, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.URL != o.URL || reg.ASToken != o.ASToken || reg.HSToken != o.HSToken || reg.Sender != "bench.obs" {
		t.Errorf("registration = %+v, want the observer's URL, tokens and localpart", reg)
	}
	if len(reg.Namespaces.Users) != 1 || reg.Namespaces.Users[0].Regex != `@bench\.obs:imbridge\.test` || !reg.Namespaces.Users[0].Exclusive {
		t.Errorf("user namespaces = %+v, want exactly the observer's own user, exclusive and quoted", reg.Namespaces.Users)
	}
}
