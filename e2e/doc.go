// Package e2e holds the end-to-end tests: a real Synapse (from the Debian
// sid chroot of scripts/synapse.sh) and the real imbridge binary, driven by
// an encrypting Matrix client. They are behind the e2e build tag:
//
//	go test -tags goolm,e2e ./e2e/
//
// IMBRIDGE_BINARY selects a prebuilt binary; IMBRIDGE_TEST_STRICT=1 turns
// a missing Synapse into a failure instead of a skip.
package e2e
