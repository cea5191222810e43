package bridge

import (
	"net/http"

	"maunium.net/go/mautrix/bridgev2"
)

// ProvisioningMux serves the routed provisioning endpoints without bridgev2's
// authentication (tests have no Matrix connector): getUser stands for it, and
// named for bridgev2's own handlers of requests that name a login.
func (c *Connector) ProvisioningMux(getUser func(*http.Request) *bridgev2.User, named http.HandlerFunc) *http.ServeMux {
	mux := http.NewServeMux()
	c.provisioningRoutes(mux, getUser, bridgev2Handlers{resolve: named, createDM: named, search: named, contacts: named, createGroup: named, backfill: named}, func(h http.Handler) http.Handler { return h })
	return mux
}
