package secretbox

import (
	"bytes"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	box, err := New(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal([]byte("pass@word1"), "lync.alice@corp")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "pass@word1") {
		t.Fatal("sealed value contains the secret")
	}
	got, err := box.Open(sealed, "lync.alice@corp")
	if err != nil || !bytes.Equal(got, []byte("pass@word1")) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err = box.Open(sealed, "lync.bob@corp"); err == nil {
		t.Fatal("a value sealed for alice opened for bob")
	}
	other, _ := New(GenerateKey())
	if _, err = other.Open(sealed, "lync.alice@corp"); err == nil {
		t.Fatal("a value opened with another key")
	}
	for _, bad := range []string{"", "v1:", "v1:!!", "v0:abcd", sealed[:len(sealed)-4]} {
		if _, err = box.Open(bad, "lync.alice@corp"); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
	if _, err = New("generate"); err == nil {
		t.Fatal("the placeholder key must be refused")
	}
}
