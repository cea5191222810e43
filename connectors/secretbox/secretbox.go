// Package secretbox seals login secrets (passwords, refresh tokens) before they
// are stored in the database, with a key from the bridge config, so a copy of
// the database alone does not reveal them.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const version = "v1:"

// ErrNoKey is returned when a box is used without a configured key.
var ErrNoKey = errors.New("no credential key configured")

// Box seals and opens secrets with AES-256-GCM.
type Box struct {
	aead cipher.AEAD
}

// New derives the box key from the config value. Any non-empty string works;
// GenerateKey makes a good one.
func New(key string) (*Box, error) {
	if key == "" || key == "generate" {
		return nil, ErrNoKey
	}
	sum := sha256.Sum256([]byte("imbridge secretbox v1\x00" + key))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, fmt.Errorf("create cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create GCM: %w", err)
	}
	return &Box{aead: aead}, nil
}

// GenerateKey returns a random key for the config.
func GenerateKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// Seal encrypts secret. owner (e.g. the login ID) is authenticated with it, so
// a sealed value copied to another login's row does not open there.
func (b *Box) Seal(secret []byte, owner string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("make nonce: %w", err)
	}
	sealed := b.aead.Seal(nonce, nonce, secret, []byte(owner))
	return version + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value made by Seal for the same owner.
func (b *Box) Open(sealed, owner string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, version)
	if !ok {
		return nil, errors.New("open secret: unknown format")
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	if len(raw) < b.aead.NonceSize() {
		return nil, errors.New("open secret: too short")
	}
	plain, err := b.aead.Open(nil, raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():], []byte(owner))
	if err != nil {
		return nil, errors.New("open secret: wrong key or damaged value")
	}
	return plain, nil
}
