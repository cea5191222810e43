package skypeapi

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// LockAndKey constants of the Skype web client.
const (
	LockAndKeyAppID = "msmsgs@msnmsgr.com"
	lockAndKeyKey   = "Q1P7W2E4J9R8U3S5"
)

// LockAndKeyResponse computes the lockAndKeyResponse checksum for a
// challenge (the decimal unix time sent as time=). It is the MSN-era MAC the
// endpoints call requires; the arithmetic is done in 64 bits modulo 2^31-1.
func LockAndKeyResponse(challenge string) string {
	clear := []byte(challenge + LockAndKeyAppID)
	// Always pad with 1..8 zeros to a multiple of 8 bytes.
	pad := 8 - len(clear)%8
	for i := 0; i < pad; i++ {
		clear = append(clear, '0')
	}
	p := make([]uint64, len(clear)/4)
	for i := range p {
		p[i] = uint64(binary.LittleEndian.Uint32(clear[4*i:]))
	}
	digest := sha256.Sum256([]byte(challenge + lockAndKeyKey))
	var h [4]uint32
	for i := range h {
		h[i] = binary.LittleEndian.Uint32(digest[4*i:])
	}
	const m = 0x7FFFFFFF
	const e = 242854337
	a, b, c, d := uint64(h[0]&m), uint64(h[1]&m), uint64(h[2]&m), uint64(h[3]&m)
	var mac, sum uint64
	for i := 0; i+1 < len(p); i += 2 {
		t := (p[i] * e) % m
		mac = ((mac+t)*a + b) % m
		sum += mac
		mac = ((mac+p[i+1])*c + d) % m
		sum += mac
	}
	mac = (mac + b) % m
	sum = (sum + d) % m
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out[0:], h[0]^uint32(mac))
	binary.LittleEndian.PutUint32(out[4:], h[1]^uint32(sum))
	binary.LittleEndian.PutUint32(out[8:], h[2]^uint32(mac))
	binary.LittleEndian.PutUint32(out[12:], h[3]^uint32(sum))
	return hex.EncodeToString(out)
}

// LockAndKeyHeader renders the LockAndKey header value for time t.
func LockAndKeyHeader(t time.Time) string {
	ch := strconv.FormatInt(t.Unix(), 10)
	return "appId=" + LockAndKeyAppID + "; time=" + ch + "; lockAndKeyResponse=" + LockAndKeyResponse(ch)
}
