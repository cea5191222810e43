// Package ucwaemu emulates the UCWA 2.0 front end of a Skype for Business
// Server closely enough to test UCWA clients: autodiscovery, the OAuth
// password grant, applications, the event channel with its ack, resync,
// resume and PGetReplaced semantics, instant messaging between its users,
// typing, contacts, presence and photos.
//
// The emulator is an http.Handler, usable with httptest.NewServer or
// httptest.NewTLSServer, or standalone via cmd/ucwa-emulator. Besides UCWA
// it offers a Go test-driver API (not part of UCWA): emulated colleagues
// (Peer) that send and receive messages, queries of what each user
// received, fault injection, a controllable clock for the server's timers
// (15-minute application expiry, 30-second invitation timeout) and a
// replay of a captured real event sequence.
package ucwaemu
