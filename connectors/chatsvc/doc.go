// Package chatsvc is a client for Microsoft's "chat service" REST API, the
// messaging backend that both Teams (chat service hosts such as
// *.ng.msg.teams.microsoft.com or msgapi.teams.live.com) and the Skype web
// client (client-s.gateway.messenger.live.com) speak.
//
// The two products differ only in the host, the header that carries the
// credential and a few conventions (consumption horizon fields, edit
// markers), so all of those are parameters of Config rather than constants:
// Teams uses "Authentication: skypetoken=<t>", Skype "RegistrationToken:
// registrationToken=<t>".
//
// The package has no bridge dependency; it is the protocol layer only.
package chatsvc
