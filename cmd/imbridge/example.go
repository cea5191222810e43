package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/template"

	flag "maunium.net/go/mauflag"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/matrix/mxmain"
)

// exampleDefaults are the values in which imbridge's example config (what
// `imbridge -e` writes, config.example.yaml, the Docker first run and the
// demo) differs from mxmain's. Only values change, never comments or layout,
// so a config rewritten later by mxmain's upgrader keeps the same text.
var exampleDefaults = []struct{ path, value string }{
	// Element encrypts a new DM as soon as the bot has device keys; a
	// bridge without encryption then sees only undecryptable events.
	{"encryption.allow", "true"},
	{"encryption.default", "true"},
	// Tell the sender what happened to each message: a read receipt from
	// the bot once it is bridged, a notice when it failed.
	{"matrix.delivery_receipts", "true"},
	{"matrix.message_error_notices", "true"},
	// A message sent while the login reconnects waits for it instead of
	// failing at once.
	{"bridge.send_reconnect_wait", "30s"},
	// Let m.notice reach the connectors, which decide what to do with it
	// (Lync answers that it stays on the Matrix side); bridgev2 otherwise
	// drops it without a word to the user.
	{"bridge.bridge_notices", "true"},
	// The bot has no avatar of its own; mxmain writes an empty value
	// (YAML null), which its config loader then warns about on every
	// start ("incorrect config field type !!null").
	{"appservice.bot.avatar", `""`},
}

// exampleConfig renders the full example config the way mxmain does
// (network section first, then mxmain's template for the rest) and applies
// exampleDefaults.
func exampleConfig(conn bridgev2.NetworkConnector) (string, error) {
	tmpl, err := template.New("example-config.yaml").Delims("$<<", ">>").Parse(mxmain.MatrixExampleConfigBase)
	if err != nil {
		return "", fmt.Errorf("parse mxmain's example config: %w", err)
	}
	networkExample, _, _ := conn.GetConfig()
	var b strings.Builder
	b.WriteString("# Network-specific config options\nnetwork:\n")
	for _, line := range strings.Split(networkExample, "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("\n")
	if err := tmpl.Execute(&b, conn.GetName()); err != nil {
		return "", fmt.Errorf("render mxmain's example config: %w", err)
	}
	return setYAMLValues(b.String(), exampleDefaults)
}

var yamlKeyLine = regexp.MustCompile(`^( *)([A-Za-z0-9_.*"'-]+):( .*)?$`)

// setYAMLValues replaces the scalar values at the given dotted paths in a
// block-style YAML document, line by line so comments and layout stay as
// they are. Every path must occur exactly once as a key with a value on
// its own line: a mautrix update that moves or renames one fails loudly
// instead of silently dropping a default.
func setYAMLValues(doc string, values []struct{ path, value string }) (string, error) {
	lines := strings.Split(doc, "\n")
	type level struct {
		indent int
		key    string
	}
	var stack []level
	found := map[string]int{}
	want := map[string]string{}
	for _, v := range values {
		want[v.path] = v.value
	}
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "- ") || trimmed == "-" {
			continue
		}
		m := yamlKeyLine.FindStringSubmatch(line)
		if m == nil {
			continue // a continuation line or a flow value: not a key
		}
		indent := len(m[1])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, level{indent, m[2]})
		keys := make([]string, len(stack))
		for j, l := range stack {
			keys[j] = l.key
		}
		path := strings.Join(keys, ".")
		value, ok := want[path]
		if !ok {
			continue
		}
		found[path]++
		if strings.TrimSpace(m[3]) == "" && i+1 < len(lines) && strings.HasPrefix(lines[i+1], m[1]+" ") {
			return "", fmt.Errorf("example config: %s is a section, not a value", path)
		}
		lines[i] = m[1] + m[2] + ": " + value
	}
	var errs []error
	for _, v := range values {
		if found[v.path] != 1 {
			errs = append(errs, fmt.Errorf("example config: %s found %d times, want once", v.path, found[v.path]))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

// writeExampleIfRequested handles -e/--generate-example-config before
// mxmain does, so the file has exampleDefaults: mxmain renders its example
// from a template it parses at start-up, which cannot be changed from here.
// The behaviour is mxmain's (-c - prints to stdout, an existing file is not
// overwritten). Any command line this does not fully understand, or one
// that also asks for help or the version, is left to mxmain.
func writeExampleIfRequested(conn bridgev2.NetworkConnector, args []string) {
	path, ok := exampleRequest(args)
	if !ok {
		return
	}
	cfg, err := exampleConfig(conn)
	if err != nil {
		fail(exitConfig, "%v", err)
	}
	if path == "-" {
		fmt.Print(cfg)
		os.Exit(0)
	}
	if _, err := os.Stat(path); path != "/dev/stdout" && path != "/dev/stderr" && !errors.Is(err, os.ErrNotExist) {
		_, _ = fmt.Fprintln(os.Stderr, path, "already exists, please remove it if you want to generate a new example")
		os.Exit(1)
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		fail(exitConfig, "write example config: %v", err)
	}
	fmt.Println("Wrote example config to", path)
	os.Exit(0)
}

// exampleRequest parses args with the same flags as mxmain and reports the
// config path if they ask for the example config and nothing that mxmain
// handles first.
func exampleRequest(args []string) (path string, ok bool) {
	fs := flag.New(args)
	config := fs.MakeFull("c", "config", "", "config.yaml").String()
	example := fs.MakeFull("e", "generate-example-config", "", "false").Bool()
	fs.MakeFull("n", "no-update", "", "false").Bool()
	fs.MakeFull("r", "registration", "", "registration.yaml").String()
	fs.MakeFull("g", "generate-registration", "", "false").Bool()
	version := fs.MakeFull("v", "version", "", "false").Bool()
	versionJSON := fs.Make().LongKey("version-json").Default("false").Bool()
	fs.Make().LongKey("ignore-unsupported-database").Default("false").Bool()
	fs.Make().LongKey("ignore-foreign-tables").Default("false").Bool()
	fs.Make().LongKey("ignore-unsupported-server").Default("false").Bool()
	help, _ := fs.MakeHelpFlag()
	if err := fs.Parse(); err != nil || !*example || *help || *version || *versionJSON {
		return "", false
	}
	return *config, true
}
