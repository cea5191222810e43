package ucwaemu

import "net/http"

func (e *Emulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	app := "/ucwa/oauth/v1/applications/{app}"
	comm := app + "/communication"
	conv := comm + "/conversations/{conv}"
	inv := comm + "/messagingInvitations/{inv}"
	meeting := comm + "/onlineMeetingInvitations/{inv}"
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /{$}":               e.handleRoot,
		"GET " + rootPath:        e.handleRoot,
		"GET " + userPath:        e.handleUser,
		"POST " + tokenPath:      e.handleToken,
		"POST " + appsPath:       e.handleCreateApp,
		"GET " + app:             e.handleGetApp,
		"DELETE " + app:          e.handleDeleteApp,
		"GET " + app + "/events": e.handleEvents,

		"GET " + app + "/me":                   e.handleMe,
		"POST " + app + "/me/makeMeAvailable":  e.handleMakeMeAvailable,
		"POST " + app + "/me/reportMyActivity": e.handleReportActivity,
		"GET " + app + "/me/presence":          e.handlePresence,
		"POST " + app + "/me/presence":         e.handlePresence,

		"GET " + comm:                              e.handleCommunication,
		"GET " + comm + "/conversations":           e.handleConversations,
		"POST " + comm + "/messagingInvitations":   e.handleStartMessaging,
		"POST " + comm + "/participantInvitations": e.handleAddParticipant,
		"GET " + inv:                               e.handleGetInvitation,
		"POST " + inv + "/accept":                  e.handleAccept,
		"POST " + inv + "/decline":                 e.handleDecline,
		"POST " + inv + "/cancel":                  e.handleCancel,
		"GET " + meeting:                           e.handleGetInvitation,
		"POST " + meeting + "/accept":              e.handleAccept,
		"POST " + meeting + "/decline":             e.handleDecline,

		"GET " + conv:                                      e.handleConversation,
		"GET " + conv + "/participants":                    e.handleParticipants,
		"GET " + conv + "/participants/{addr}":             e.handleParticipant,
		"GET " + conv + "/messaging":                       e.handleMessaging,
		"POST " + conv + "/messaging/messages":             e.handleSendMessage,
		"GET " + conv + "/messaging/messages/{n}":          e.handleGetMessage,
		"POST " + conv + "/messaging/typing":               e.handleTyping,
		"POST " + conv + "/messaging/terminate":            e.handleTerminate,
		"POST " + conv + "/messaging/messagingInvitations": e.handleAddMessaging,

		"GET " + app + "/people":                 e.handlePeople,
		"GET " + app + "/onlineMeetings":         e.handleOnlineMeetings,
		"GET " + app + "/people/contacts":        e.handleContacts,
		"GET " + app + "/people/search":          e.handleSearch,
		"GET " + app + "/people/{addr}":          e.handleContact,
		"GET " + app + "/people/{addr}/presence": e.handleContactPresence,
		"GET " + app + "/photos/{addr}":          e.handlePhoto,
	} {
		mux.HandleFunc(pattern, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "", "No such resource.")
	})
	return mux
}
