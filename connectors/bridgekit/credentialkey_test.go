package bridgekit

import (
	"testing"

	up "go.mau.fi/util/configupgrade"
	"gopkg.in/yaml.v3"

	"github.com/imbridge/imbridge/connectors/secretbox"
)

func upgradedKey(t *testing.T, userConfig string) string {
	t.Helper()
	var base, cfg yaml.Node
	if err := yaml.Unmarshal([]byte("credential_key: generate\n"), &base); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(userConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	UpgradeCredentialKey(up.NewHelper(&base, &cfg))
	out, err := yaml.Marshal(&base)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Key string `yaml:"credential_key"`
	}
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got.Key
}

func TestUpgradeCredentialKeyGeneratesOnlyWhereThereIsNone(t *testing.T) {
	kept := secretbox.GenerateKey()
	if got := upgradedKey(t, "credential_key: "+kept+"\n"); got != kept {
		t.Errorf("a set key became %q", got)
	}
	seen := map[string]bool{}
	for _, cfg := range []string{"credential_key: generate\n", "credential_key: \"\"\n", "other: 1\n"} {
		got := upgradedKey(t, cfg)
		if err := CheckCredentialKey(got); err != nil || seen[got] {
			t.Errorf("%q: generated %q (%v, seen before %v)", cfg, got, err, seen[got])
		}
		seen[got] = true
	}
}

func TestCheckCredentialKey(t *testing.T) {
	if err := CheckCredentialKey(secretbox.GenerateKey()); err != nil {
		t.Errorf("a generated key: %v", err)
	}
	for _, bad := range []string{"", "generate"} {
		if err := CheckCredentialKey(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
