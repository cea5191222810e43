package bridgekit

import (
	"fmt"

	up "go.mau.fi/util/configupgrade"

	"github.com/imbridge/imbridge/connectors/secretbox"
)

// Every connector seals stored credentials with its config's
// credential_key. The example configs say "generate": the first start
// (config upgrade) writes a fresh key there, as it does for a missing or
// empty one, and keeps a key that is set.

// UpgradeCredentialKey carries credential_key over in a config upgrade,
// generating a key where there is none yet.
func UpgradeCredentialKey(helper up.Helper) {
	if key, ok := helper.Get(up.Str, "credential_key"); !ok || key == "" || key == "generate" {
		helper.Set(up.Str, secretbox.GenerateKey(), "credential_key")
	} else {
		helper.Copy(up.Str, "credential_key")
	}
}

// CheckCredentialKey is config validation's word on credential_key.
func CheckCredentialKey(key string) error {
	if _, err := secretbox.New(key); err != nil {
		return fmt.Errorf("credential_key: %w (start the bridge once without -n to generate one)", err)
	}
	return nil
}
