package ucwaemu

import "slices"

// JSON shapes of the resources, mirroring captured server responses.

func (e *Emulator) appResource(a *application) obj {
	b := a.base()
	links := obj{
		"self":     link(b),
		"policies": link(b + "/policies"),
		"batch":    link(b + "/batch"),
		"events":   link(a.eventsHref(a.resumeAck())),
	}
	res := obj{"rel": "application", "culture": a.culture, "userAgent": a.userAgent, "_links": links}
	if e.opts.LinkApplicationResources {
		for _, rel := range []string{"me", "people", "onlineMeetings", "communication"} {
			links[rel] = link(b + "/" + rel)
		}
		return res
	}
	res["_embedded"] = obj{
		"me":             e.meResource(a),
		"people":         peopleResource(a),
		"onlineMeetings": onlineMeetingsResource(a),
		"communication":  e.communicationResource(a),
	}
	return res
}

func onlineMeetingsResource(a *application) obj {
	return obj{"rel": "onlineMeetings", "_links": obj{"self": link(a.base() + "/onlineMeetings")}}
}

// resumeAck is where a client re-attaching to this application should
// start: the unacknowledged batch if there is one, else the next.
func (a *application) resumeAck() int {
	if a.queue.last != nil {
		return a.queue.ack
	}
	return a.queue.ack + 1
}

func (e *Emulator) meResource(a *application) obj {
	b := a.base() + "/me"
	links := obj{
		"self":                   link(b),
		"callForwardingSettings": link(b + "/callForwardingSettings"),
		"phones":                 link(b + "/phones"),
		"photo":                  link(a.base() + "/photos/" + a.user.addr),
	}
	if a.available {
		links["presence"] = link(b + "/presence")
		links["note"] = link(b + "/note")
		links["location"] = link(b + "/location")
		links["reportMyActivity"] = link(b + "/reportMyActivity")
	} else {
		links["makeMeAvailable"] = link(b + "/makeMeAvailable")
	}
	return obj{"rel": "me", "name": a.user.name, "uri": a.user.sip(), "emailAddresses": []string{a.user.addr}, "_links": links}
}

func peopleResource(a *application) obj {
	b := a.base() + "/people"
	return obj{"rel": "people", "_links": obj{
		"self":                            link(b),
		"presenceSubscriptions":           link(b + "/presenceSubscriptions"),
		"subscribedContacts":              link(b + "/subscribedContacts"),
		"presenceSubscriptionMemberships": link(b + "/presenceSubscriptionMemberships"),
		"myGroups":                        link(b + "/groups"),
		"myGroupMemberships":              link(b + "/groupMemberships"),
		"myContacts":                      link(b + "/contacts"),
		"myPrivacyRelationships":          link(b + "/privacyRelationships"),
		"myContactsAndGroupsSubscription": link(b + "/contactsAndGroupsSubscription"),
		"search":                          link(b + "/search"),
	}}
}

func (e *Emulator) communicationResource(a *application) obj {
	b := a.base() + "/communication"
	modalities := []string{}
	formats := []string{"Plain"}
	if a.available {
		modalities = []string{"Messaging"}
		formats = a.formats
	}
	return obj{
		"rel": "communication", a.guid: "please pass this in a PUT request",
		"etag": itoa(a.etag), "supportedModalities": modalities, "supportedMessageFormats": formats,
		"_links": obj{
			"self":               link(b),
			"conversations":      link(b + "/conversations?filter=active"),
			"startMessaging":     link(b + "/messagingInvitations"),
			"startPhoneAudio":    link(b + "/phoneAudioInvitations"),
			"startOnlineMeeting": link(b + "/onlineMeetingInvitations?onlineMeetingUri=adhoc"),
			"joinOnlineMeeting":  link(b + "/onlineMeetingInvitations"),
		},
	}
}

func (c *appConv) href() string { return c.app.base() + "/communication/conversations/" + c.id }

func (c *appConv) participantHref(u *user) string { return c.href() + "/participants/" + u.addr }

func (e *Emulator) conversationResource(c *appConv) obj {
	h := c.href()
	links := obj{
		"self":               link(h),
		"messaging":          link(h + "/messaging"),
		"audioVideo":         link(h + "/audioVideo"),
		"applicationSharing": link(h + "/applicationSharing"),
		"dataCollaboration":  link(h + "/dataCollaboration"),
		"phoneAudio":         link(h + "/phoneAudio"),
	}
	modalities := []string{}
	if (c.state == "Incoming" && (c.inv == nil || !c.inv.meeting)) || c.msgState == "Connected" {
		modalities = []string{"Messaging"}
	}
	if c.state == "Connected" || c.state == "Conferenced" {
		links["localParticipant"] = titled(c.participantHref(c.app.user), c.app.user.name)
		links["participants"] = link(h + "/participants")
		links["addParticipant"] = link(c.app.base() + "/communication/participantInvitations?conversation=" + c.id)
	}
	return obj{
		"rel": "conversation", "state": c.state, "threadId": c.th.id, "subject": c.th.subject,
		"importance": c.th.importance, "activeModalities": modalities, "recording": false,
		"participantCount": len(c.th.members), "_links": links,
	}
}

func (e *Emulator) messagingResource(c *appConv) obj {
	h := c.href() + "/messaging"
	links := obj{"self": link(h), "conversation": link(c.href())}
	res := obj{"rel": "messaging", "state": c.msgState, "_links": links}
	switch c.msgState {
	case "Connected":
		links["sendMessage"] = link(h + "/messages")
		links["setIsTyping"] = link(h + "/typing")
		links["stopMessaging"] = link(h + "/terminate")
		links["typingParticipants"] = link(h + "/typingParticipants")
		res["negotiatedMessageFormats"] = negotiated(c.app)
	case "Connecting":
		links["stopMessaging"] = link(h + "/terminate")
	case "Disconnected":
		if c.state == "Connected" || c.state == "Conferenced" {
			links["addMessaging"] = link(h + "/messagingInvitations")
		}
	}
	return res
}

func negotiated(a *application) []string {
	if a.supportsHTML() {
		return []string{"Plain", "Html"}
	}
	return []string{"Plain"}
}

// participantResource describes u as seen in conversation c.
func (e *Emulator) participantResource(c *appConv, u *user) obj {
	links := obj{
		"self":         link(c.participantHref(u)),
		"conversation": link(c.href()),
	}
	res := obj{"rel": "participant", "name": u.name, "uri": u.sip(), "sourceNetwork": "SameEnterprise", "anonymous": false, "_links": links}
	if u == c.app.user {
		links["me"] = link(c.app.base() + "/me")
		return res
	}
	links["contact"] = link(c.app.base() + "/people/" + u.addr)
	links["contactPresence"] = link(c.app.base() + "/people/" + u.addr + "/presence")
	links["contactPhoto"] = link(c.app.base() + "/photos/" + u.addr)
	return res
}

// localParticipantResource is the application's own user as the
// participants collection lists it, in the shape Options.LocalParticipant
// names.
func (e *Emulator) localParticipantResource(c *appConv) obj {
	res := e.participantResource(c, c.app.user)
	switch e.opts.LocalParticipant {
	case "local":
		res["local"] = true
	case "uri":
		delete(res["_links"].(obj), "me")
	}
	return res
}

// rel is the invitation's resource name, which is also its collection's
// path segment (plural).
func (inv *invitation) rel() string {
	if inv.meeting {
		return "onlineMeetingInvitation"
	}
	return "messagingInvitation"
}

func (inv *invitation) href() string {
	return inv.conv.app.base() + "/communication/" + inv.rel() + "s/" + inv.id
}

func (e *Emulator) invitationResource(inv *invitation) obj {
	c := inv.conv
	a := c.app
	h := inv.href()
	links := obj{
		"self":         link(h),
		"conversation": link(c.href()),
		"messaging":    link(c.href() + "/messaging"),
	}
	res := obj{
		"rel": inv.rel(), "direction": inv.direction, "state": inv.state,
		"importance": c.th.importance, "threadId": c.th.id, "subject": c.th.subject, "_links": links,
	}
	if inv.meeting {
		// An online meeting invitation offers the conference, not IM.
		delete(links, "messaging")
		res["onlineMeetingUri"] = c.th.confURI
		links["from"] = titled(c.participantHref(inv.peer), inv.peer.name)
	}
	if inv.first != nil {
		links["message"] = link(inv.first.dataURL(a.supportsHTML()))
	}
	if inv.direction == "Incoming" {
		links["to"] = link(a.base() + "/people/" + a.user.addr)
		if inv.state == "Connecting" {
			accept := h + "/accept"
			if e.opts.SessionContextOnAccept {
				accept += "?sessionContext=" + inv.sessionContext
			}
			links["accept"] = link(accept)
			links["decline"] = link(h + "/decline")
		}
		res["_embedded"] = obj{"from": e.participantResource(c, inv.peer)}
		return res
	}
	links["from"] = titled(c.participantHref(a.user), a.user.name)
	if inv.peer != nil {
		links["to"] = link(a.base() + "/people/" + inv.peer.addr)
	}
	if inv.state == "Connecting" {
		links["cancel"] = link(h + "/cancel")
	}
	if id := e.echoOpID(inv.opID); id != "" {
		res["operationId"] = id
	}
	return res
}

func (e *Emulator) messageResource(c *appConv, n int, b *body, incoming bool) obj {
	h := c.href() + "/messaging/messages/" + itoa(n)
	links := obj{"self": link(h), "messaging": link(c.href() + "/messaging")}
	res := obj{"rel": "message", "timeStamp": wireDate(b.when), "_links": links}
	if !incoming {
		res["direction"] = "Outgoing"
		if id := e.echoOpID(b.opID); id != "" {
			res["operationId"] = id
		}
		return res
	}
	res["direction"] = "Incoming"
	from := b.from.user
	links["contact"] = link(c.app.base() + "/people/" + from.addr)
	links["participant"] = titled(c.participantHref(from), from.name)
	links["plainMessage"] = link(plainDataURL(b.plain()))
	if b.html != "" && c.app.supportsHTML() {
		links["htmlMessage"] = link(htmlDataURL(b.html))
	}
	return res
}

func (e *Emulator) contactResource(a *application, u *user) obj {
	b := a.base() + "/people/" + u.addr
	res := obj{
		"rel": "contact", "name": u.name, "uri": u.sip(), "emailAddresses": []string{u.addr},
		"type": "User", "sourceNetwork": "SameEnterprise", "company": "Emulated Inc.",
		"_links": obj{
			"self":            link(b),
			"contactPresence": link(b + "/presence"),
			"contactPhoto":    link(a.base() + "/photos/" + u.addr),
			"contactNote":     link(b + "/note"),
			"contactLocation": link(b + "/location"),
		},
	}
	if u.title != "" {
		res["title"] = u.title
	}
	if u.department != "" {
		res["department"] = u.department
	}
	return res
}

func (e *Emulator) contactPresenceResource(a *application, u *user) obj {
	return obj{
		"rel": "contactPresence", "availability": e.presenceOf(u), "deviceType": "PC",
		"_links": obj{"self": link(a.base() + "/people/" + u.addr + "/presence")},
	}
}

// otherMembers returns the users in c's thread except c's own user.
func otherMembers(c *appConv) []*user {
	var out []*user
	for _, m := range c.th.members {
		if m.user != c.app.user && !slices.Contains(out, m.user) {
			out = append(out, m.user)
		}
	}
	return out
}

// recordedOperationID is the operation ID of the documented startMessaging
// example, what a replay of recorded traffic echoes whatever was sent.
const recordedOperationID = "5028e824-2268-4b14-9e59-1abad65ff393"

// echoOpID is the operation ID the server shows for one the client sent
// (see Options.OperationIDEcho).
func (e *Emulator) echoOpID(id string) string {
	switch {
	case id == "" || e.opts.OperationIDEcho == "none":
		return ""
	case e.opts.OperationIDEcho == "foreign":
		return recordedOperationID
	}
	return id
}
