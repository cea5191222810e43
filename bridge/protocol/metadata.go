package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/imbridge/imbridge/bridge/ids"
)

// Metadata is the value of every bridgev2 metadata column (logins, portals,
// ghosts, messages, reactions). bridgev2 allows one Go type per table, but each
// row belongs to one protocol, so the column holds {"<protocol>": {...}} and the
// protocol's own type decodes the inner object.
//
// A row whose protocol is not built into this binary (or whose value fails to
// decode) keeps its raw JSON and writes it back unchanged, so nothing is lost.
type Metadata struct {
	Protocol ids.Protocol
	Value    any

	raw     json.RawMessage
	newFunc func(ids.Protocol) any
}

// NewMetadata wraps a protocol's metadata value for storing in bridgev2's
// tables. Prefer a Kind, which ties the protocol to its Go type; NewMetadata
// panics on a value that cannot be a protocol's metadata (nil, or an already
// wrapped *Metadata), since such a row would not reload.
func NewMetadata(p ids.Protocol, value any) *Metadata {
	if value == nil {
		panic(fmt.Sprintf("protocol.NewMetadata(%s, nil)", p))
	}
	if _, nested := value.(*Metadata); nested {
		panic(fmt.Sprintf("protocol.NewMetadata(%s, *Metadata): metadata wrapped twice", p))
	}
	return &Metadata{Protocol: p, Value: value}
}

// Kind is one protocol's metadata type for one table: the only intended way
// to make (Wrap), read (Get) and declare (Creator) that metadata. Every value
// bridgev2 stores in a metadata column (UserLogin.Metadata, Portal.Metadata,
// Ghost.Metadata, ConvertedMessagePart.DBMetadata, Reaction metadata …) must be
// a *Metadata; a protocol's own struct written there directly would be stored
// without its protocol key, and the row would not load again (the bridgetest
// harness reloads every row after each test to catch that).
type Kind[T any] struct{ proto ids.Protocol }

// NewKind declares protocol p's metadata type T.
func NewKind[T any](p ids.Protocol) Kind[T] { return Kind[T]{proto: p} }

// Protocol is the protocol the kind belongs to.
func (k Kind[T]) Protocol() ids.Protocol { return k.proto }

// Wrap makes the value to store; a nil v stores an empty T.
func (k Kind[T]) Wrap(v *T) *Metadata {
	if v == nil {
		v = new(T)
	}
	return &Metadata{Protocol: k.proto, Value: v}
}

// Get reads a row's metadata (see Meta).
func (k Kind[T]) Get(md any) (*T, error) { return Meta[T](k.proto, md) }

// Creator is the MetaTypes entry for the table.
func (k Kind[T]) Creator() func() any { return func() any { return new(T) } }

// MetadataCreator returns a bridgev2 MetaTypeCreator that decodes rows with the
// protocol creators in factories.
func MetadataCreator(factories map[ids.Protocol]func() any) func() any {
	newFunc := func(p ids.Protocol) any {
		if f := factories[p]; f != nil {
			return f()
		}
		return nil
	}
	return func() any { return &Metadata{newFunc: newFunc} }
}

func (m *Metadata) MarshalJSON() ([]byte, error) {
	if m.Protocol == "" {
		if m.Value != nil {
			return nil, fmt.Errorf("encode metadata: a %T value without a protocol", m.Value)
		}
		return []byte("{}"), nil
	}
	if !ids.IsKnown(m.Protocol) {
		return nil, fmt.Errorf("encode metadata: unknown protocol %q", m.Protocol)
	}
	if _, nested := m.Value.(*Metadata); nested {
		return nil, fmt.Errorf("encode %s metadata: metadata wrapped twice", m.Protocol)
	}
	inner := m.raw
	if m.Value != nil {
		var err error
		if inner, err = json.Marshal(m.Value); err != nil {
			return nil, fmt.Errorf("encode %s metadata: %w", m.Protocol, err)
		}
	}
	if len(inner) == 0 {
		inner = json.RawMessage("{}")
	}
	return json.Marshal(map[ids.Protocol]json.RawMessage{m.Protocol: inner})
}

func (m *Metadata) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var outer map[ids.Protocol]json.RawMessage
	if err := json.Unmarshal(data, &outer); err != nil {
		return fmt.Errorf("decode metadata: %w", err)
	}
	if len(outer) == 0 {
		*m = Metadata{newFunc: m.newFunc}
		return nil
	}
	for p := range outer {
		if !ids.IsKnown(p) {
			// Not a protocol: a connector's own struct was stored without
			// going through Metadata, and its fields became the keys.
			return fmt.Errorf("decode metadata: %q is not a protocol; the row was written without protocol.Metadata", p)
		}
	}
	if len(outer) > 1 {
		keys := make([]string, 0, len(outer))
		for k := range outer {
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		return fmt.Errorf("decode metadata: several protocols %v in one row", keys)
	}
	for p, inner := range outer {
		m.Protocol, m.raw, m.Value = p, inner, nil
		if m.newFunc == nil {
			return nil
		}
		v := m.newFunc(p)
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(inner, v); err != nil {
			return fmt.Errorf("decode %s metadata: %w", p, err)
		}
		m.Value = v
	}
	return nil
}

// Meta returns the protocol's typed metadata of a bridgev2 row, creating an
// empty value when the row has none yet (bridgev2 creates rows with empty
// metadata). It fails when the row belongs to another protocol.
func Meta[T any](p ids.Protocol, md any) (*T, error) {
	m, ok := md.(*Metadata)
	if !ok || m == nil {
		return nil, fmt.Errorf("metadata is %T, not *protocol.Metadata", md)
	}
	if m.Protocol == "" {
		m.Protocol = p
	} else if m.Protocol != p {
		return nil, fmt.Errorf("%w: metadata of a %s row read as %s", ids.ErrForeignID, m.Protocol, p)
	}
	if m.Value == nil {
		v := new(T)
		if len(m.raw) > 0 {
			if err := json.Unmarshal(m.raw, v); err != nil {
				return nil, fmt.Errorf("decode %s metadata: %w", p, err)
			}
		}
		m.Value = v
		return v, nil
	}
	v, ok := m.Value.(*T)
	if !ok {
		return nil, fmt.Errorf("%s metadata is %T, not %T", p, m.Value, v)
	}
	return v, nil
}
