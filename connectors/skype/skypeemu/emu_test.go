package skypeemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
	"github.com/imbridge/imbridge/connectors/skype/skypeemu"
)

// Raw-wire tests: the variants other clients send must be accepted, as
// §11/§12 of the protocol notes ask.

type wire struct {
	t   *testing.T
	emu *skypeemu.Emulator
}

func newWire(t *testing.T) *wire {
	emu := skypeemu.New(skypeemu.Options{PollHold: 100 * time.Millisecond})
	emu.Start()
	t.Cleanup(emu.Close)
	emu.AddUser("fred.2", "Fred Adams", "pw")
	emu.AddUser("joe.4", "Joe Bloggs", "pw")
	return &wire{t: t, emu: emu}
}

func (w *wire) do(method, path string, h map[string]string, body string) (*http.Response, string) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.emu.URL()+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// register makes an endpoint with a skypetoken and returns the
// Set-RegistrationToken header.
func (w *wire) register(user string) string {
	w.t.Helper()
	tok := w.emu.MintToken(user)
	resp, body := w.do("POST", "/v1/users/ME/endpoints", map[string]string{"Authentication": "skypetoken=" + tok,
		"LockAndKey": skypeapi.LockAndKeyHeader(time.Now())}, `{"endpointFeatures":"Agent"}`)
	if resp.StatusCode != http.StatusCreated {
		w.t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Set-RegistrationToken")
}

func TestRegistrationTokenHeaderForms(t *testing.T) {
	w := newWire(t)
	set := w.register("fred.2")
	reg, ok := skypeapi.ParseSetRegistrationToken(set)
	if !ok || reg.EndpointID == "" || reg.Expires.IsZero() {
		t.Fatalf("Set-RegistrationToken %q", set)
	}
	before, _, _ := strings.Cut(set, ";")
	for _, form := range []string{"registrationToken=" + reg.Token, set, before} {
		resp, body := w.do("GET", "/v1/users/ME/conversations?startTime=0&pageSize=10&view=msnp24Equivalent", map[string]string{"RegistrationToken": form}, "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"conversations"`) {
			t.Fatalf("form %q: %d %s", form, resp.StatusCode, body)
		}
	}
	if resp, _ := w.do("GET", "/v1/users/ME/conversations", map[string]string{"RegistrationToken": "registrationToken=wrong"}, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
}

func TestEndpointCallRequirements(t *testing.T) {
	w := newWire(t)
	tok := w.emu.MintToken("fred.2")
	cases := []struct {
		name   string
		h      map[string]string
		body   string
		status int
	}{
		{"no LockAndKey", map[string]string{"Authentication": "skypetoken=" + tok}, `{}`, http.StatusUnauthorized},
		{"wrong checksum", map[string]string{"Authentication": "skypetoken=" + tok, "LockAndKey": "appId=msmsgs@msnmsgr.com; time=1; lockAndKeyResponse=00000000000000000000000000000000"}, `{}`, http.StatusUnauthorized},
		{"no skypetoken", map[string]string{"LockAndKey": skypeapi.LockAndKeyHeader(time.Now())}, `{}`, http.StatusUnauthorized},
		{"no body", map[string]string{"Authentication": "skypetoken=" + tok, "LockAndKey": skypeapi.LockAndKeyHeader(time.Now())}, ``, http.StatusBadRequest},
		{"empty JSON body", map[string]string{"Authentication": "skypetoken=" + tok, "LockAndKey": skypeapi.LockAndKeyHeader(time.Unix(1, 0))}, `{}`, http.StatusCreated},
	}
	for _, c := range cases {
		if resp, body := w.do("POST", "/v1/users/ME/endpoints", c.h, c.body); resp.StatusCode != c.status {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
		}
	}
}

func TestRedirectAnswerShape(t *testing.T) {
	w := newWire(t)
	w.emu.RedirectMessaging("fred.2")
	tok := w.emu.MintToken("fred.2")
	resp, _ := w.do("POST", "/v1/users/ME/endpoints", map[string]string{"Authentication": "skypetoken=" + tok, "LockAndKey": skypeapi.LockAndKeyHeader(time.Now())}, `{}`)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != w.emu.AltURL()+"/v1/users/ME/endpoints" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSubscriptionVariantsPollAndAcks(t *testing.T) {
	w := newWire(t)
	reg, _ := skypeapi.ParseSetRegistrationToken(w.register("fred.2"))
	h := map[string]string{"RegistrationToken": "registrationToken=" + reg.Token}
	ep := url.PathEscape(reg.EndpointID)
	// 450 before subscribing.
	if resp, body := w.do("POST", "/v1/users/ME/endpoints/"+ep+"/subscriptions/0/poll", h, ""); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "450") {
		t.Fatalf("poll before subscribing: %d %s", resp.StatusCode, body)
	}
	// skpy's form: no template, conversationType, capitalised channel type, on SELF.
	if resp, body := w.do("POST", "/v1/users/ME/endpoints/SELF/subscriptions", h,
		`{"interestedResources":["/v1/threads/ALL","/v1/users/ME/conversations/ALL/messages","/v1/users/ME/conversations/ALL/properties"],"channelType":"HttpLongPoll","conversationType":2047}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	// An empty poll is held and answers an empty list.
	start := time.Now()
	if resp, body := w.do("POST", "/v1/users/ME/endpoints/SELF/subscriptions/0/poll", h, `{"endpointFeatures":"Agent"}`); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"eventMessages":[]`) {
		t.Fatalf("empty poll: %d %s", resp.StatusCode, body)
	} else if time.Since(start) < 90*time.Millisecond {
		t.Fatal("empty poll was not held")
	}
	w.emu.Send("joe.4", "fred.2", "one")
	w.emu.Send("joe.4", "fred.2", "two")
	_, body := w.do("POST", "/v1/users/ME/endpoints/"+ep+"/subscriptions/0/poll", h, "")
	var got struct {
		Events []struct {
			ID       int64          `json:"id"`
			Type     string         `json:"resourceType"`
			Resource map[string]any `json:"resource"`
		} `json:"eventMessages"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Events) != 2 || got.Events[0].ID != 1000 || got.Events[1].ID != 1001 {
		t.Fatalf("poll %s", body)
	}
	ack, _ := got.Events[0].Resource["ackrequired"].(string)
	if !strings.HasSuffix(ack, "/v1/users/ME/conversations/ALL/messages/"+got.Events[0].Resource["id"].(string)+"/ack") {
		t.Fatalf("ackrequired %q", ack)
	}
	// Ack the first per message; the second stays un-acked and comes again.
	if resp, _ := w.do("POST", strings.TrimPrefix(ack, w.emu.URL()), h, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("ack: %d", resp.StatusCode)
	}
	_, body = w.do("POST", "/v1/users/ME/endpoints/"+ep+"/subscriptions/0/poll", h, "")
	if !strings.Contains(body, `"id":1001`) || strings.Contains(body, `"id":1000`) {
		t.Fatalf("redelivery %s", body)
	}
	// The cumulative ackId form acknowledges it.
	if _, body = w.do("POST", "/v1/users/ME/endpoints/"+ep+"/subscriptions/0/poll?ackId=1001", h, ""); strings.Contains(body, `"id":1001`) {
		t.Fatalf("after ackId: %s", body)
	}
	if st := w.emu.Endpoints("fred.2"); st.Pending != 0 {
		t.Fatalf("pending %+v", st)
	}
	w.emu.DropEndpoints("fred.2")
	if resp, body := w.do("POST", "/v1/users/ME/endpoints/"+ep+"/subscriptions/0/poll", h, ""); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "729") {
		t.Fatalf("after drop: %d %s", resp.StatusCode, body)
	}
}

func TestLegacyAndCurrentEditsEmitSkypeEditedID(t *testing.T) {
	w := newWire(t)
	reg, _ := skypeapi.ParseSetRegistrationToken(w.register("fred.2"))
	h := map[string]string{"RegistrationToken": "registrationToken=" + reg.Token}
	w.do("POST", "/v1/users/ME/endpoints/SELF/subscriptions", h, `{"interestedResources":["/v1/users/ME/conversations/ALL/messages"],"template":"raw","channelType":"httpLongPoll"}`)
	resp, body := w.do("POST", "/v1/users/ME/conversations/8:joe.4/messages", h, `{"clientmessageid":"1451606399999","messagetype":"Text","contenttype":"text","content":"v1"}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, "OriginalArrivalTime") || resp.Header.Get("Location") == "" {
		t.Fatalf("send: %d %s", resp.StatusCode, body)
	}
	id := resp.Header.Get("Location")[strings.LastIndex(resp.Header.Get("Location"), "/")+1:]
	// Legacy edit: a POST with skypeeditedid.
	w.do("POST", "/v1/users/ME/conversations/8:joe.4/messages", h, `{"skypeeditedid":"1451606399999","messagetype":"Text","contenttype":"text","content":"v2"}`)
	// Current edit: PUT by server id.
	resp, body = w.do("PUT", "/v1/users/ME/conversations/8:joe.4/messages/"+id, h, `{"messagetype":"Text","contenttype":"text","content":"v3"}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "edittime") {
		t.Fatalf("PUT edit: %d %s", resp.StatusCode, body)
	}
	resp, body = w.do("DELETE", "/v1/users/ME/conversations/8:joe.4/messages/"+id, h, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "deletetime") {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	msgs := w.emu.Messages("joe.4", "fred.2")
	var edits []string
	for _, m := range msgs {
		if m.EditedID != "" {
			if m.EditedID != "1451606399999" {
				t.Fatalf("edit record names %q", m.EditedID)
			}
			edits = append(edits, m.Content)
		}
	}
	if len(edits) != 3 || !strings.HasPrefix(edits[0], "v2<e_m ") || !strings.HasPrefix(edits[1], "v3<e_m ") || edits[2] != "" {
		t.Fatalf("edit records %q", edits)
	}
	if !msgs[0].Deleted {
		t.Fatal("original not marked deleted")
	}
	// History lists the original only, with its final state.
	_, body = w.do("GET", "/v1/users/ME/conversations/8:joe.4/messages?startTime=0&pageSize=30&view=msnp24Equivalent", h, "")
	if strings.Count(body, `"id":"`) != 1 || !strings.Contains(body, `"deletetime":"`) {
		t.Fatalf("history %s", body)
	}
	_, body = w.do("POST", "/v1/users/ME/endpoints/SELF/subscriptions/0/poll", h, "")
	if strings.Count(body, `"skypeeditedid":"1451606399999"`) != 3 {
		t.Fatalf("events %s", body)
	}
}

func TestEdgeAcceptsJSONAndForm(t *testing.T) {
	w := newWire(t)
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		_, soap := w.do("POST", "/RST.srf", nil, `<Envelope><Header><wsse:Security><wsse:UsernameToken><wsse:Username>fred.2</wsse:Username><wsse:Password>pw</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>wl.skype.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference URI='MBI_SSL'/></Body></Envelope>`)
		i := strings.Index(soap, `Id="Compact0">`)
		if i < 0 {
			t.Fatalf("soap answer %s", soap)
		}
		ticket := soap[i+len(`Id="Compact0">`):]
		ticket = strings.ReplaceAll(ticket[:strings.Index(ticket, "<")], "&amp;", "&")
		body := url.Values{"partner": {"999"}, "access_token": {ticket}, "scopes": {"client"}}.Encode()
		if ct == "application/json" {
			b, _ := json.Marshal(map[string]string{"partner": "999", "access_token": ticket, "scopes": "client"})
			body = string(b)
		}
		resp, answer := w.do("POST", "/rps/v1/rps/skypetoken", map[string]string{"Content-Type": ct}, body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(answer, `"skypetoken"`) || !strings.Contains(answer, `"expiresIn":`+strconv.Itoa(86400)) {
			t.Fatalf("%s: %d %s", ct, resp.StatusCode, answer)
		}
		// A ticket works once.
		if resp, answer := w.do("POST", "/rps/v1/rps/skypetoken", map[string]string{"Content-Type": ct}, body); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(answer, "40120") {
			t.Fatalf("reused ticket: %d %s", resp.StatusCode, answer)
		}
	}
}

// A removal reaches the removed member (ThreadActivity/DeleteMember), and the
// ThreadUpdate after it lists the members without them.
func TestRemovalActivityThenUpdatedMembers(t *testing.T) {
	w := newWire(t)
	w.emu.AddUser("ann.1", "Ann", "pw")
	group := w.emu.CreateGroup("fred.2", "Team", "joe.4", "ann.1")
	for _, who := range []string{"fred.2", "joe.4"} {
		reg, _ := skypeapi.ParseSetRegistrationToken(w.register(who))
		h := map[string]string{"RegistrationToken": "registrationToken=" + reg.Token}
		if resp, body := w.do("POST", "/v1/users/ME/endpoints/SELF/subscriptions", h,
			`{"interestedResources":["/v1/threads/ALL","/v1/users/ME/conversations/ALL/messages"],"template":"raw","channelType":"httpLongPoll"}`); resp.StatusCode != http.StatusCreated {
			t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
		}
		defer func(who string, h map[string]string) {
			_, body := w.do("POST", "/v1/users/ME/endpoints/SELF/subscriptions/0/poll", h, "")
			var got struct {
				Events []struct {
					Type     string          `json:"resourceType"`
					Resource json.RawMessage `json:"resource"`
				} `json:"eventMessages"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%s's poll: %v %s", who, err, body)
			}
			var kinds []string
			for _, ev := range got.Events {
				kinds = append(kinds, ev.Type)
				if ev.Type == "ThreadUpdate" && strings.Contains(string(ev.Resource), "8:joe.4") {
					t.Errorf("%s got a ThreadUpdate still listing joe after his removal: %s", who, ev.Resource)
				}
			}
			if !strings.Contains(body, "ThreadActivity/DeleteMember") {
				t.Errorf("%s did not hear of the removal: %v", who, kinds)
			}
		}(who, h)
	}
	w.emu.RemoveMember("fred.2", group, "joe.4")
}
