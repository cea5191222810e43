package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
	"go.mau.fi/util/exhttp"
	"go.mau.fi/util/requestlog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/provisionutil"
	"maunium.net/go/mautrix/id"

	"github.com/imbridge/imbridge/bridge/ids"
)

// Many provisioning API endpoints use bridgev2's default login (the
// alphabetically first) unless the request names one with ?login_id=.
// imbridge registers the same paths on the appservice router with more
// specific patterns, so ServeMux sends them here first: a request with
// login_id goes on to bridgev2's own handler unchanged; one without is routed:
//
//   - resolve_identifier and create_dm like the bot commands (see route.go);
//   - search_users and contacts ask every login and merge the results;
//   - create_group/{type} goes to the login of the type's protocol (merged
//     group types carry it, see protocol.GroupTypeKey);
//   - backfill/{roomID} goes to the login of the room's portal.

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
			contacts: prov.GetContactList, createGroup: prov.PostCreateGroup, backfill: prov.PostPaginate,
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
	resolve, createDM, search, contacts, createGroup, backfill http.HandlerFunc
}

// provisioningRoutes registers the routed endpoints on mux; wrap adds the
// provisioning API's authentication (after which getUser works).
func (c *Connector) provisioningRoutes(mux *http.ServeMux, getUser func(*http.Request) *bridgev2.User, own bridgev2Handlers, wrap func(http.Handler) http.Handler) {
	const prefix = "/_matrix/provision/v3"
	mux.Handle("GET "+prefix+"/resolve_identifier/{identifier}", wrap(c.provResolve(getUser, own.resolve, false)))
	mux.Handle("POST "+prefix+"/create_dm/{identifier}", wrap(c.provResolve(getUser, own.createDM, true)))
	mux.Handle("POST "+prefix+"/search_users", wrap(c.provSearch(getUser, own.search)))
	mux.Handle("GET "+prefix+"/contacts", wrap(c.provContacts(getUser, own.contacts)))
	mux.Handle("POST "+prefix+"/create_group/{type}", wrap(c.provPickLogin(getUser, own.createGroup, c.loginForGroupType)))
	mux.Handle("POST "+prefix+"/backfill/{roomID}", wrap(c.provPickLogin(getUser, own.backfill, c.loginForRoom)))
}

// withLoginID is the request with ?login_id= set, for bridgev2's handler.
func withLoginID(r *http.Request, loginID networkid.UserLoginID) *http.Request {
	r2 := r.Clone(r.Context())
	q := r2.URL.Query()
	q.Set("login_id", string(loginID))
	r2.URL.RawQuery = q.Encode()
	return r2
}

// provPickLogin chooses the login for a request without login_id and hands
// the request to bridgev2's handler with it.
func (c *Connector) provPickLogin(getUser func(*http.Request) *bridgev2.User, named http.HandlerFunc, pick func(*http.Request, *bridgev2.User) (*bridgev2.UserLogin, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("login_id") == "" {
			user := getUser(r)
			if len(user.GetUserLogins()) == 0 {
				matrix.ErrNotLoggedIn.Write(w)
				return
			}
			login, err := pick(r, user)
			if err != nil {
				mautrix.MNotFound.WithMessage("%s", capitalise(err.Error())).Write(w)
				return
			}
			if login != nil {
				r = withLoginID(r, login.ID)
			}
		}
		named(w, r)
	}
}

// firstLoginOf is the user's first login of protocol p.
func firstLoginOf(user *bridgev2.User, p ids.Protocol) *bridgev2.UserLogin {
	for _, l := range sortedLogins(user) {
		if loginProtocol(l) == p {
			return l
		}
	}
	return nil
}

func (c *Connector) loginForGroupType(r *http.Request, user *bridgev2.User) (*bridgev2.UserLogin, error) {
	p, err := ids.ProtocolOf(r.PathValue("type"))
	if err != nil {
		// Not one of the merged types: bridgev2 answers that.
		return nil, nil
	}
	if login := firstLoginOf(user, p); login != nil {
		return login, nil
	}
	return nil, fmt.Errorf("you have no %s login", c.networkName(p))
}

func (c *Connector) loginForRoom(r *http.Request, user *bridgev2.User) (*bridgev2.UserLogin, error) {
	portal, err := c.Bridge.GetPortalByMXID(r.Context(), id.RoomID(r.PathValue("roomID")))
	if err != nil || portal == nil {
		// bridgev2 reports an unknown room.
		return nil, nil
	}
	if portal.Receiver != "" {
		if login := c.Bridge.GetCachedUserLoginByID(portal.Receiver); login != nil && login.UserMXID == user.MXID {
			return login, nil
		}
	}
	p, err := ids.ProtocolOf(string(portal.ID))
	if err != nil {
		return nil, nil
	}
	if login := firstLoginOf(user, p); login != nil {
		return login, nil
	}
	return nil, fmt.Errorf("you have no %s login for this room", c.networkName(p))
}

// provContacts merges the contact lists of all the user's logins.
func (c *Connector) provContacts(getUser func(*http.Request) *bridgev2.User, named http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("login_id") != "" {
			named(w, r)
			return
		}
		logins := sortedLogins(getUser(r))
		if len(logins) == 0 {
			matrix.ErrNotLoggedIn.Write(w)
			return
		}
		out := &provisionutil.RespGetContactList{Contacts: []*provisionutil.RespResolveIdentifier{}}
		var firstErr error
		listed := 0
		for _, login := range logins {
			if _, ok := login.Client.(bridgev2.ContactListingNetworkAPI); !ok {
				continue
			}
			listed++
			resp, err := provisionutil.GetContactList(r.Context(), login)
			if err != nil {
				zerolog.Ctx(r.Context()).Warn().Err(err).Str("login_id", string(login.ID)).Msg("Contact list failed on one login")
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			out.Contacts = append(out.Contacts, resp.Contacts...)
		}
		if listed == 0 {
			mautrix.MUnrecognized.WithMessage("None of your logins has a contact list").Write(w)
			return
		}
		if len(out.Contacts) == 0 && firstErr != nil {
			matrix.RespondWithError(w, firstErr, "Internal error getting contact list")
			return
		}
		exhttp.WriteJSONResponse(w, http.StatusOK, out)
	}
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
