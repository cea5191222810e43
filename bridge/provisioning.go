package bridge

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
	"go.mau.fi/util/exhttp"
	"go.mau.fi/util/requestlog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/provisionutil"
)

// The provisioning API's resolve_identifier, create_dm and search_users
// endpoints use bridgev2's default login (the alphabetically first) unless the
// request names one with ?login_id=. imbridge registers the same paths on the
// appservice router with more specific patterns, so ServeMux sends them here
// first: a request with login_id goes on to bridgev2's own handler unchanged;
// one without is routed like the bot commands (see route.go), and
// search_users asks every login.

// registerProvisioning installs the routes on bridgev2's Matrix connector, if
// that is what the bridge runs on (tests use a fake homeserver).
func (c *Connector) registerProvisioning() {
	mc, ok := c.Bridge.Matrix.(*matrix.Connector)
	if !ok || mc.Provisioning == nil || mc.AS == nil || mc.AS.Router == nil {
		return
	}
	prov := mc.Provisioning
	log := c.Bridge.Log.With().Str("component", "provisioning").Str("routing", "imbridge").Logger()
	c.provisioningOnce.Do(func() {
		c.provisioningRoutes(mc.AS.Router, prov.GetUser, bridgev2Handlers{
			resolve: prov.GetResolveIdentifier, createDM: prov.PostCreateDM, search: prov.PostSearchUsers,
		}, func(h http.Handler) http.Handler {
			return exhttp.ApplyMiddleware(h,
				hlog.NewHandler(log),
				exhttp.CORSMiddleware,
				requestlog.AccessLogger(requestlog.Options{TrustXForwardedFor: true}),
				prov.AuthMiddleware,
			)
		})
	})
}

// bridgev2Handlers are bridgev2's own handlers, for requests naming a login.
type bridgev2Handlers struct {
	resolve, createDM, search http.HandlerFunc
}

// provisioningRoutes registers the routed endpoints on mux; wrap adds the
// provisioning API's authentication (after which getUser works).
func (c *Connector) provisioningRoutes(mux *http.ServeMux, getUser func(*http.Request) *bridgev2.User, own bridgev2Handlers, wrap func(http.Handler) http.Handler) {
	const prefix = "/_matrix/provision/v3"
	mux.Handle("GET "+prefix+"/resolve_identifier/{identifier}", wrap(c.provResolve(getUser, own.resolve, false)))
	mux.Handle("POST "+prefix+"/create_dm/{identifier}", wrap(c.provResolve(getUser, own.createDM, true)))
	mux.Handle("POST "+prefix+"/search_users", wrap(c.provSearch(getUser, own.search)))
}

func (c *Connector) provResolve(getUser func(*http.Request) *bridgev2.User, named http.HandlerFunc, createChat bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("login_id") != "" {
			named(w, r)
			return
		}
		user := getUser(r)
		rt := c.routeIdentifier(user, r.PathValue("identifier"))
		resp, _, err := c.resolveIdentifier(r.Context(), rt, createChat)
		switch {
		case errors.Is(err, errNoLoginFor) && len(rt.logins) == 0 && rt.only == "":
			matrix.ErrNotLoggedIn.Write(w)
		case errors.Is(err, errNoLoginFor):
			mautrix.MNotFound.WithMessage("%s", capitalise(err.Error())).Write(w)
		case err != nil:
			matrix.RespondWithError(w, err, "Internal error resolving identifier")
		case resp == nil:
			mautrix.MNotFound.WithMessage("Identifier not found").Write(w)
		default:
			status := http.StatusOK
			if resp.JustCreated {
				status = http.StatusCreated
			}
			exhttp.WriteJSONResponse(w, status, resp)
		}
	}
}

func (c *Connector) provSearch(getUser func(*http.Request) *bridgev2.User, named http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("login_id") != "" {
			named(w, r)
			return
		}
		var req matrix.ReqSearchUsers
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			mautrix.MNotJSON.WithMessage("Failed to decode request body").Write(w)
			return
		}
		user := getUser(r)
		logins := sortedLogins(user)
		if len(logins) == 0 {
			matrix.ErrNotLoggedIn.Write(w)
			return
		}
		out := &provisionutil.RespSearchUsers{Results: []*provisionutil.RespResolveIdentifier{}}
		var firstErr error
		searched := 0
		for _, login := range logins {
			if _, ok := login.Client.(bridgev2.UserSearchingNetworkAPI); !ok {
				continue
			}
			searched++
			resp, err := provisionutil.SearchUsers(r.Context(), login, req.Query)
			if err != nil {
				zerolog.Ctx(r.Context()).Warn().Err(err).Str("login_id", string(login.ID)).Msg("Search failed on one login")
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			out.Results = append(out.Results, resp.Results...)
		}
		if searched == 0 {
			mautrix.MUnrecognized.WithMessage("None of your logins can search for users").Write(w)
			return
		}
		if len(out.Results) == 0 && firstErr != nil {
			matrix.RespondWithError(w, firstErr, "Internal error searching users")
			return
		}
		exhttp.WriteJSONResponse(w, http.StatusOK, out)
	}
}
