package teamsapi

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Frame is one socket.io 0.9 frame: "<type>:<id>[+]:<endpoint>:<data>".
type Frame struct {
	Type     int    // 0 disconnect, 1 connect, 2 heartbeat, 3 message, 5 event, 6 ack, 7 error, 8 noop
	ID       string // message id ("" when absent)
	WantsAck bool   // the id had a "+"
	Endpoint string
	Data     string
	// sep records a data separator with empty data ("5:1::" vs "5:1:"), so
	// a parsed frame renders back exactly.
	sep bool
}

// ErrBadFrame is a frame that does not follow the grammar.
var ErrBadFrame = errors.New("teamsapi: malformed socket.io frame")

// ParseFrame parses one frame.
func ParseFrame(s string) (Frame, error) {
	var f Frame
	typ, rest, ok := strings.Cut(s, ":")
	if !ok || len(typ) != 1 || typ[0] < '0' || typ[0] > '8' {
		return f, fmt.Errorf("%w: %.40q", ErrBadFrame, s)
	}
	f.Type = int(typ[0] - '0')
	id, rest, ok := strings.Cut(rest, ":")
	if !ok {
		// "1::" splits as "1", ":" — anything shorter is malformed.
		return f, fmt.Errorf("%w: %.40q", ErrBadFrame, s)
	}
	if strings.HasSuffix(id, "+") {
		f.WantsAck = true
		id = strings.TrimSuffix(id, "+")
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return f, fmt.Errorf("%w: bad id in %.40q", ErrBadFrame, s)
		}
	}
	f.ID = id
	f.Endpoint, f.Data, f.sep = strings.Cut(rest, ":")
	return f, nil
}

// String renders the frame.
func (f Frame) String() string {
	id := f.ID
	if f.WantsAck {
		id += "+"
	}
	s := strconv.Itoa(f.Type) + ":" + id + ":" + f.Endpoint
	if f.Data != "" || f.sep {
		s += ":" + f.Data
	}
	return s
}

// Event is the data of a type-5 frame.
type Event struct {
	Name string            `json:"name"`
	Args []json.RawMessage `json:"args,omitempty"`
}

// ParseEvent decodes a type-5 frame's data.
func ParseEvent(data string) (*Event, error) {
	var ev Event
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return nil, fmt.Errorf("%w: event: %v", ErrBadFrame, err)
	}
	if ev.Name == "" {
		return nil, fmt.Errorf("%w: event without name", ErrBadFrame)
	}
	return &ev, nil
}

// Ack is the data of a type-6 frame: "<id>+<json array>".
type Ack struct {
	ID   string
	Args []json.RawMessage
}

// ParseAck decodes a type-6 frame's data.
func ParseAck(data string) (*Ack, error) {
	id, args, _ := strings.Cut(data, "+")
	if id == "" {
		return nil, fmt.Errorf("%w: ack without id", ErrBadFrame)
	}
	a := &Ack{ID: id}
	if args != "" {
		if err := json.Unmarshal([]byte(args), &a.Args); err != nil {
			return nil, fmt.Errorf("%w: ack args: %v", ErrBadFrame, err)
		}
	}
	return a, nil
}

// Delivery is a server-to-client request carried in a type-3 frame.
type Delivery struct {
	ID      json.Number       `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// UnmarshalJSON reads a delivery leniently, so that one odd field does not
// cost the message it carries: header values that are numbers (or other
// JSON) are kept as their JSON text, and a body sent as a JSON object
// instead of the usual string is kept as that object's text.
func (d *Delivery) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID      json.Number                `json:"id"`
		Method  string                     `json:"method"`
		URL     string                     `json:"url"`
		Headers map[string]json.RawMessage `json:"headers"`
		Body    json.RawMessage            `json:"body"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	*d = Delivery{ID: raw.ID, Method: raw.Method, URL: raw.URL, Body: rawText(raw.Body)}
	if len(raw.Headers) > 0 {
		d.Headers = make(map[string]string, len(raw.Headers))
		for k, v := range raw.Headers {
			d.Headers[k] = rawText(v)
		}
	}
	return nil
}

// rawText is a JSON string's value, or any other JSON value's text ("" for null).
func rawText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// ParseDelivery decodes a type-3 frame's data.
func ParseDelivery(data string) (*Delivery, error) {
	var d Delivery
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: delivery: %v", ErrBadFrame, err)
	}
	if d.ID == "" || d.URL == "" {
		return nil, fmt.Errorf("%w: delivery without id or url", ErrBadFrame)
	}
	return &d, nil
}

func (d *Delivery) header(name string) string {
	for k, v := range d.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Payload returns the body, un-gzipping base64(gzip(JSON)) bodies.
func (d *Delivery) Payload() ([]byte, error) {
	if !strings.EqualFold(d.header("X-Microsoft-Skype-Content-Encoding"), "gzip") {
		return []byte(d.Body), nil
	}
	body := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, d.Body)
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		// Unpadded base64 also occurs.
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(body, "="))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: gzip body is not base64: %v", ErrBadFrame, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip body: %v", ErrBadFrame, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip body: %v", ErrBadFrame, err)
	}
	return out, nil
}

// AckFrame is the immediate answer to a delivery.
func (d *Delivery) AckFrame() string {
	headers := map[string]string{"trouter-client": `{"cd":7}`}
	if cv := d.header("MS-CV"); cv != "" {
		headers["MS-CV"] = cv + ".0"
	}
	if tr := d.header("trouter-request"); tr != "" {
		headers["trouter-request"] = tr
	}
	b, _ := json.Marshal(map[string]any{"id": d.ID, "status": 200, "headers": headers, "body": ""})
	return "3:::" + string(b)
}

// Service is the push's target, from the url suffix.
func (d *Delivery) Service() string {
	u := strings.TrimRight(d.URL, "/")
	if i := strings.LastIndex(u, "/"); i >= 0 {
		u = u[i+1:]
	}
	return u
}
