package skypeapi

import (
	"testing"
	"time"
)

func TestLockAndKeyVectors(t *testing.T) {
	for _, v := range []struct{ challenge, want string }{
		{"1451606400", "362420c48750c8e5db6ec9bcdf79e32c"},
		{"1700000000", "abe5fadd8fa2021a9041e263584ea4ab"},
		{"1", "0b4afade153e451a8746371788bc9dc4"},
	} {
		if got := LockAndKeyResponse(v.challenge); got != v.want {
			t.Errorf("LockAndKeyResponse(%q) = %s, want %s", v.challenge, got, v.want)
		}
	}
}

func TestLockAndKeyHeader(t *testing.T) {
	got := LockAndKeyHeader(time.Unix(1451606400, 0))
	want := "appId=msmsgs@msnmsgr.com; time=1451606400; lockAndKeyResponse=362420c48750c8e5db6ec9bcdf79e32c"
	if got != want {
		t.Fatalf("header = %q, want %q", got, want)
	}
}
