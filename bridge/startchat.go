package bridge

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/commands"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/provisionutil"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/format"

	"github.com/imbridge/imbridge/bridge/ids"
)

// identifierHelp is how the commands describe the identifier syntax.
const identifierHelp = "Prefix the identifier with its network to choose it (`teams:alice@corp.example`, `lync:bob@corp.example`, `skype:live:bob`); without a prefix each of your logins is asked in turn."

// The commands below replace bridgev2's own of the same name (AddHandler
// keys handlers by name): bridgev2's use the user's alphabetically first login.
func (c *Connector) chatCommands() []commands.CommandHandler {
	return []commands.CommandHandler{
		&commands.FullHandler{
			Func: c.cmdResolve, Name: "start-chat", Aliases: []string{"pm"},
			Help: commands.HelpMeta{
				Section:     commands.HelpSectionChats,
				Description: "Start a direct chat with a user on any of your networks. " + identifierHelp,
				Args:        "[_login ID_] <_identifier_>",
			},
			RequiresLogin: true,
		},
		&commands.FullHandler{
			Func: c.cmdResolve, Name: "resolve-identifier",
			Help: commands.HelpMeta{
				Section:     commands.HelpSectionChats,
				Description: "Check whether an identifier is a user on one of your networks. " + identifierHelp,
				Args:        "[_login ID_] <_identifier_>",
			},
			RequiresLogin: true,
		},
		&commands.FullHandler{
			Func: c.cmdSearch, Name: "search",
			Help: commands.HelpMeta{
				Section:     commands.HelpSectionChats,
				Description: "Search for users on every network you are logged in to (`teams:<query>` searches one network only).",
				Args:        "[_login ID_] <_query_>",
			},
			RequiresLogin: true,
		},
		&commands.FullHandler{
			Func: c.cmdSetRelay, Name: "set-relay",
			Help: commands.HelpMeta{
				Section:     commands.HelpSectionAuth,
				Description: "Use your login on this room's network to relay messages sent by users who haven't logged in",
				Args:        "[_login ID_]",
			},
			RequiresPortal: true,
		},
		&commands.FullHandler{
			Func: c.cmdCreateGroup, Name: "create-group", Aliases: []string{"create"},
			Help: commands.HelpMeta{
				Section:     commands.HelpSectionChats,
				Description: "Create a new group chat for the current Matrix room, on the network of the group type (such as `teams.group`)",
				Args:        "[_group type_]",
			},
			RequiresLogin:      true,
			RequiresEventLevel: event.StateBridge,
		},
		&commands.FullHandler{
			Func: c.cmdCreatePortal, Name: "create-portal",
			Help: commands.HelpMeta{
				Section:     commands.HelpSectionChats,
				Description: "Create a new Matrix room for an existing chat on the remote network (the chat ID names its network, such as `teams.…`)",
				Args:        "[_login ID_] <_chat ID_>",
			},
		},
	}
}

// cmdCreateGroup picks the login of the group type's network (merged group
// types carry their protocol, see protocol.GroupTypeKey) before bridgev2's
// create-group runs; an explicit login ID first is left alone.
func (c *Connector) cmdCreateGroup(ce *commands.Event) {
	if len(ce.Args) == 0 || ownLogin(ce, ce.Args[0]) == nil {
		typ := ""
		if len(ce.Args) > 0 {
			typ = ce.Args[0]
		} else if types := c.GetCapabilities().Provisioning.GroupCreation; len(types) == 1 {
			for typ = range types {
			}
		}
		if p, err := ids.ProtocolOf(typ); err == nil {
			login := firstLoginOf(ce.User, p)
			if login == nil {
				ce.Reply("You have no %s login to create a `%s` group with.", c.networkName(p), typ)
				return
			}
			ce.Args = append([]string{string(login.ID)}, ce.Args...)
		}
	}
	commands.CommandCreateGroup.Func(ce)
}

// cmdCreatePortal picks the user's login of the chat ID's network when no
// login ID is given.
func (c *Connector) cmdCreatePortal(ce *commands.Event) {
	if len(ce.Args) == 1 {
		if p, err := ids.ProtocolOf(ce.Args[0]); err == nil {
			if login := firstLoginOf(ce.User, p); login != nil {
				ce.Args = []string{string(login.ID), ce.Args[0]}
			}
		}
	}
	commands.CommandCreatePortal.Func(ce)
}

// ownLogin returns the user's login with the given ID, or nil.
func ownLogin(ce *commands.Event, loginID string) *bridgev2.UserLogin {
	login := ce.Bridge.GetCachedUserLoginByID(networkid.UserLoginID(loginID))
	if login == nil || login.UserMXID != ce.User.MXID {
		return nil
	}
	return login
}

func (c *Connector) cmdResolve(ce *commands.Event) {
	if len(ce.Args) == 0 {
		ce.Reply("Usage: `$cmdprefix %s [login ID] <identifier>`\n\n%s", ce.Command, identifierHelp)
		return
	}
	createChat := ce.Command == "start-chat" || ce.Command == "pm"
	var r route
	if login := ownLogin(ce, ce.Args[0]); login != nil && len(ce.Args) > 1 {
		// An explicit login: only that one is asked.
		ident := strings.Join(ce.Args[1:], " ")
		if p, rest := ids.ParseIdentifier(ident); p != "" {
			if p != loginProtocol(login) {
				ce.Reply("`%s` is a %s identifier, but `%s` is a %s login.", ident, c.networkName(p), login.ID, c.networkName(loginProtocol(login)))
				return
			}
			ident = rest
		}
		r = route{logins: []*bridgev2.UserLogin{login}, identifier: ident, only: loginProtocol(login)}
	} else {
		r = c.routeIdentifier(ce.User, strings.Join(ce.Args, " "))
	}
	resp, login, err := c.resolveIdentifier(ce.Ctx, r, createChat)
	switch {
	case errors.Is(err, errNoLoginFor):
		ce.Reply("%s", capitalise(err.Error()))
		return
	case err != nil:
		ce.Reply("Failed to resolve `%s`: %v", r.identifier, err)
		return
	case resp == nil:
		ce.Reply("`%s` was not found on %s.", r.identifier, c.networkName(loginProtocol(login)))
		return
	}
	who := fmt.Sprintf("%s on %s", formatResolved(resp), c.networkName(loginProtocol(login)))
	if !createChat {
		ce.Reply("Found %s", who)
		return
	}
	name := resp.Portal.Name
	if name == "" {
		name = resp.Portal.MXID.String()
	}
	link := resp.Portal.MXID.URI().MatrixToURL()
	if resp.JustCreated {
		ce.Reply("Created a chat with %s: [%s](%s)", who, name, link)
	} else {
		ce.Reply("You already have a chat with %s at [%s](%s)", who, name, link)
	}
}

func formatResolved(resp *provisionutil.RespResolveIdentifier) string {
	switch {
	case resp.MXID != "":
		return fmt.Sprintf("%s / [%s](%s)", format.SafeMarkdownCode(resp.ID), resp.Name, resp.MXID.URI().MatrixToURL())
	case resp.Name != "":
		return fmt.Sprintf("%s / %s", format.SafeMarkdownCode(resp.ID), resp.Name)
	}
	return format.SafeMarkdownCode(resp.ID)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// cmdSearch asks every login that can search (as list-contacts does) and
// lists the results under each network and login.
func (c *Connector) cmdSearch(ce *commands.Event) {
	if len(ce.Args) == 0 {
		ce.Reply("Usage: `$cmdprefix search <query>` (or `teams:<query>` for one network)")
		return
	}
	logins := sortedLogins(ce.User)
	args := ce.Args
	if login := ownLogin(ce, args[0]); login != nil && len(args) > 1 {
		// bridgev2's search takes a login ID first, too.
		logins, args = []*bridgev2.UserLogin{login}, args[1:]
	}
	query := strings.Join(args, " ")
	only, rest := ids.ParseIdentifier(query)
	if only != "" {
		query = rest
	}
	var out strings.Builder
	searched := 0
	for _, login := range logins {
		p := loginProtocol(login)
		if only != "" && p != only {
			continue
		}
		if _, ok := login.Client.(bridgev2.UserSearchingNetworkAPI); !ok {
			continue
		}
		searched++
		fmt.Fprintf(&out, "**%s** (`%s`):\n\n", c.networkName(p), login.ID)
		resp, err := provisionutil.SearchUsers(ce.Ctx, login, query)
		switch {
		case err != nil:
			fmt.Fprintf(&out, "Search failed: %v\n\n", err)
			continue
		case len(resp.Results) == 0:
			out.WriteString("No results.\n\n")
			continue
		}
		for _, res := range resp.Results {
			line := "* " + formatResolved(res)
			if res.Portal != nil && res.Portal.MXID != "" {
				name := res.Portal.Name
				if name == "" {
					name = res.Portal.MXID.String()
				}
				line += fmt.Sprintf(" - chat: [%s](%s)", name, res.Portal.MXID.URI().MatrixToURL())
			}
			out.WriteString(line + "\n")
		}
		out.WriteString("\n")
	}
	if searched == 0 {
		if only != "" {
			ce.Reply("You have no %s login that can search.", c.networkName(only))
		} else {
			ce.Reply("None of your logins can search for users.")
		}
		return
	}
	ce.Reply("Search results for %s:\n\n%s", format.SafeMarkdownCode(query), strings.TrimSpace(out.String()))
}

// cmdSetRelay makes sure the relay is a login of the portal's own network
// (another network's login cannot send there: its client refuses the portal),
// then lets bridgev2's set-relay do the rest.
func (c *Connector) cmdSetRelay(ce *commands.Event) {
	p, err := ids.ProtocolOf(string(ce.Portal.ID))
	if err != nil || !ce.Bridge.Config.Relay.Enabled {
		commands.CommandSetRelay.Func(ce)
		return
	}
	if len(ce.Args) > 0 {
		if lp, err := ids.ProtocolOf(ce.Args[0]); err != nil || lp != p {
			ce.Reply("This is a %s chat; only a %s login can relay here, and `%s` is not one.", c.networkName(p), c.networkName(p), ce.Args[0])
			return
		}
		commands.CommandSetRelay.Func(ce)
		return
	}
	if ce.Portal.Receiver != "" {
		// bridgev2 uses the receiver, which is of the portal's network.
		commands.CommandSetRelay.Func(ce)
		return
	}
	cfg := ce.Bridge.Config.Relay
	onlyDefault := !ce.User.Permissions.Admin && cfg.AdminOnly
	preferDefault := cfg.PreferDefault && len(cfg.DefaultRelays) > 0
	var pick networkid.UserLoginID
	if !onlyDefault && !preferDefault {
		for _, l := range sortedLogins(ce.User) {
			if loginProtocol(l) == p {
				pick = l.ID
				break
			}
		}
	}
	if pick == "" {
		inPortal, err := ce.Bridge.GetUserLoginsInPortal(ce.Ctx, ce.Portal.PortalKey)
		if err != nil {
			ce.Log.Err(err).Msg("Failed to get the logins in the portal")
			ce.Reply("Failed to find a default relay in this chat")
			return
		}
		for _, relayID := range cfg.DefaultRelays {
			if ids.Owns(p, string(relayID)) && slices.ContainsFunc(inPortal, func(l *bridgev2.UserLogin) bool { return l.ID == relayID }) {
				pick = relayID
				break
			}
		}
	}
	if pick == "" {
		ce.Reply("You have no %s login to relay with here, and none of the default relays of that network is in this chat.", c.networkName(p))
		return
	}
	ce.Args = []string{string(pick)}
	commands.CommandSetRelay.Func(ce)
}
