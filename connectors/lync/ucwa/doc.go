// Package ucwa is a client for the Unified Communications Web API (UCWA 2.0)
// of on-premises Lync / Skype for Business Server, limited to what a chat
// bridge needs: autodiscovery, password-grant sign-in, the application
// lifecycle, the event channel, instant messaging, typing, contacts and
// presence.
//
// UCWA is a hypermedia API: apart from the autodiscovery hosts, every URL
// this package requests comes from a link the server handed out. Server
// relative hrefs are resolved against the host of the applications URL.
//
// Typical use:
//
//	c, err := ucwa.New(ucwa.Config{Username: "alice@contoso.com", Password: pw, EndpointID: id})
//	err = c.SignIn(ctx)
//	_, err = c.CreateApplication(ctx)
//	err = c.MakeMeAvailable(ctx, ucwa.AvailabilityOptions{})
//	go c.KeepAlive(ctx, 3*time.Minute)
//	err = c.RunEvents(ctx, handler)
//	_ = c.Close(context.Background())
//
// The package never logs or returns passwords or access tokens.
package ucwa
