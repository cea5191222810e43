package synapse

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// homeserverConfig renders homeserver.yaml. Paths are as seen inside the
// chroot. The values favour tests: SQLite, no federation listener, no
// public registration, and rate limits high enough that bursts of test
// traffic are never throttled.
func homeserverConfig(o configValues) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("server_name: %q", o.ServerName)
	w("public_baseurl: %q", o.PublicURL)
	w("pid_file: %q", o.Dir+"/homeserver.pid")
	w("report_stats: false")
	w("listeners:")
	w("  - port: %d", o.Port)
	w("    bind_addresses: ['127.0.0.1']")
	w("    type: http")
	w("    tls: false")
	w("    x_forwarded: false")
	w("    resources:")
	w("      - names: [client]")
	w("        compress: false")
	w("database:")
	w("  name: sqlite3")
	w("  args:")
	w("    database: %q", o.Dir+"/homeserver.db")
	w("log_config: %q", o.Dir+"/log.config")
	w("media_store_path: %q", o.Dir+"/media_store")
	w("signing_key_path: %q", o.Dir+"/signing.key")
	w("registration_shared_secret: %q", o.SharedSecret)
	w("macaroon_secret_key: %q", o.MacaroonSecret)
	w("form_secret: %q", o.FormSecret)
	w("enable_registration: false")
	w("trusted_key_servers: []")
	w("suppress_key_server_warning: true")
	w("url_preview_enabled: false")
	w("enable_metrics: false")
	w("presence:")
	w("  enabled: true")
	// Nothing here should ever talk to another server.
	w("federation_domain_whitelist: []")
	if len(o.AppserviceFiles) > 0 {
		w("app_service_config_files:")
		for _, f := range o.AppserviceFiles {
			w("  - %q", f)
		}
	}
	// No experimental_features: msc2409_to_device_messages_enabled and
	// msc3202_transaction_extensions would push to-device events into
	// appservice transactions as well, while the bridge (encryption.
	// appservice: false) reads them from /sync; Element users get the
	// same stable behaviour.
	b.WriteString(relaxedRateLimits)
	return b.String()
}

// relaxedRateLimits lifts every client rate limit a test could hit. The
// bridge's appservice is not rate limited anyway (rate_limited: false in
// its registration); these are for the test users.
const relaxedRateLimits = `rc_message: {per_second: 1000, burst_count: 1000}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login:
  address: {per_second: 1000, burst_count: 1000}
  account: {per_second: 1000, burst_count: 1000}
  failed_attempts: {per_second: 1000, burst_count: 1000}
rc_joins:
  local: {per_second: 1000, burst_count: 1000}
  remote: {per_second: 1000, burst_count: 1000}
rc_joins_per_room: {per_second: 1000, burst_count: 1000}
rc_invites:
  per_room: {per_second: 1000, burst_count: 1000}
  per_user: {per_second: 1000, burst_count: 1000}
  per_issuer: {per_second: 1000, burst_count: 1000}
rc_key_requests: {per_second: 1000, burst_count: 1000}
rc_3pid_validation: {per_second: 1000, burst_count: 1000}
rc_admin_redaction: {per_second: 1000, burst_count: 1000}
rc_media_create: {per_second: 1000, burst_count: 1000}
rc_room_creation: {per_second: 1000, burst_count: 1000}
rc_presence:
  per_user: {per_second: 1000, burst_count: 1000}
rc_delayed_event_mgmt: {per_second: 1000, burst_count: 1000}
rc_user_directory: {per_second: 1000, burst_count: 1000}
`

// logConfig renders Synapse's Python logging config: everything at INFO
// into homeserver.log (SQL noise at WARNING), warnings also to stderr.
func logConfig(dir string) string {
	return fmt.Sprintf(`version: 1
formatters:
  precise:
    format: '%%(asctime)s - %%(name)s - %%(lineno)d - %%(levelname)s - %%(request)s - %%(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: %q
    encoding: utf8
  console:
    class: logging.StreamHandler
    formatter: precise
    level: WARNING
loggers:
  synapse.storage.SQL:
    level: WARNING
  twisted:
    level: WARNING
root:
  level: INFO
  handlers: [file, console]
disable_existing_loggers: false
`, dir+"/homeserver.log")
}

type configValues struct {
	ServerName      string
	PublicURL       string
	Port            int
	Dir             string // data dir inside the chroot
	SharedSecret    string
	MacaroonSecret  string
	FormSecret      string
	AppserviceFiles []string // inside the chroot
}

// signingKey returns a Synapse signing key file: "ed25519 <key id> <seed>"
// with the seed in unpadded base64. Generating it here saves a separate
// `--generate-keys` run of Synapse (several seconds of Python start-up).
func signingKey() (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate signing key: %w", err)
	}
	keyID, err := randomHex(3)
	if err != nil {
		return "", err
	}
	seed := base64.RawStdEncoding.EncodeToString(priv.Seed())
	return fmt.Sprintf("ed25519 a_%s %s\n", keyID, seed), nil
}

func randomHex(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(buf), nil
}
