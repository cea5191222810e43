package bridge

import (
	"fmt"
	"strings"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/commands"
	"maunium.net/go/mautrix/bridgev2/networkid"
)

// registerCommands adds the bot commands bridgev2 lacks.
func (c *Connector) registerCommands() {
	proc, ok := c.Bridge.Commands.(*commands.Processor)
	if !ok {
		return
	}
	proc.AddHandlers(&commands.FullHandler{
		Func: c.cmdListContacts,
		Name: "list-contacts",
		Help: commands.HelpMeta{
			Section:     commands.HelpSectionChats,
			Description: "List your contacts on every logged-in network (or on one login), with the Matrix users to chat with.",
			Args:        "[_login ID_]",
		},
		RequiresLogin: true,
	})
	proc.AddHandlers(c.chatCommands()...)
}

func (c *Connector) cmdListContacts(ce *commands.Event) {
	logins := ce.User.GetUserLogins()
	if len(ce.Args) > 0 {
		login := c.Bridge.GetCachedUserLoginByID(networkid.UserLoginID(ce.Args[0]))
		if login == nil || login.UserMXID != ce.User.MXID {
			ce.Reply("You have no login with the ID `%s`.", ce.Args[0])
			return
		}
		logins = []*bridgev2.UserLogin{login}
	}
	var out strings.Builder
	for _, login := range logins {
		api, ok := login.Client.(bridgev2.ContactListingNetworkAPI)
		if !ok {
			continue
		}
		contacts, err := api.GetContactList(ce.Ctx)
		if err != nil {
			fmt.Fprintf(&out, "**%s** (`%s`): failed to list contacts: %v\n\n", c.networkName(loginProtocol(login)), login.ID, err)
			continue
		}
		fmt.Fprintf(&out, "**%s** (`%s`, %d contacts):\n\n", c.networkName(loginProtocol(login)), login.ID, len(contacts))
		for _, ct := range contacts {
			name := string(ct.UserID)
			if ct.UserInfo != nil && ct.UserInfo.Name != nil {
				name = *ct.UserInfo.Name
			}
			if ct.Ghost != nil {
				fmt.Fprintf(&out, "* %s (`%s`): [%s](%s)\n", name, ct.UserID, ct.Ghost.Intent.GetMXID(), ct.Ghost.Intent.GetMXID().URI().MatrixToURL())
			} else {
				fmt.Fprintf(&out, "* %s (`%s`)\n", name, ct.UserID)
			}
		}
		out.WriteString("\n")
	}
	if out.Len() == 0 {
		ce.Reply("None of your logins has a contact list.")
		return
	}
	ce.Reply("%s", strings.TrimSpace(out.String()))
}
