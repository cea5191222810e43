package bridgekit

import (
	"encoding/json"
	"sync"
)

// MetaLock guards the fields of a login's metadata that its session changes
// (a renewed token, rotated credentials) while bridgev2 may be saving the
// login, which marshals the metadata, on another goroutine. Embed it in the
// metadata struct as an unexported field, change those fields with Set, and
// marshal through Marshal.
type MetaLock struct{ mu sync.Mutex }

// Set changes *field under the lock.
func (l *MetaLock) Set(field *string, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*field = value
}

// Get reads *field under the lock.
func (l *MetaLock) Get(field *string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return *field
}

// Marshal encodes the metadata under the lock. fields is the metadata as a
// type without its MarshalJSON method (`type fields LoginMetadata;
// m.lock.Marshal((*fields)(m))`), or it would call itself.
func (l *MetaLock) Marshal(fields any) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return json.Marshal(fields)
}
