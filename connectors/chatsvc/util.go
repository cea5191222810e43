package chatsvc

import (
	"math/rand/v2"
	"net/url"
)

func urlPathUnescape(s string) (string, error) { return url.PathUnescape(s) }

func randUint64() uint64 { return rand.Uint64() }
