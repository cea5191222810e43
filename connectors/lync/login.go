package lync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/lync/ucwa"
)

const (
	stepCredentials = "fi.imbridge.lync.credentials"
	stepDiscovery   = "fi.imbridge.lync.discovery"
	stepComplete    = "fi.imbridge.lync.complete"
)

// loginProcess asks for a sign-in name and password, and for a discovery URL
// only when the user's domain cannot be discovered and the config names none.
type loginProcess struct {
	conn     *Connector
	user     *bridgev2.User
	username string
	password string
}

var _ bridgev2.LoginProcessUserInput = (*loginProcess)(nil)

func (l *loginProcess) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	return &bridgev2.LoginStep{
		Type:         bridgev2.LoginStepTypeUserInput,
		StepID:       stepCredentials,
		Instructions: "Sign in to Skype for Business with your work account.",
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: []bridgev2.LoginInputDataField{{
			Type: bridgev2.LoginInputFieldTypeUsername, ID: "username", Name: "SIP address or e-mail",
			Description: "For example alice@corp.example",
			Validate: func(s string) (string, error) {
				s = strings.TrimPrefix(strings.TrimSpace(s), "sip:")
				if !isAddress(s) {
					return "", errors.New("enter an address like alice@corp.example")
				}
				return s, nil
			},
		}, {
			Type: bridgev2.LoginInputFieldTypePassword, ID: "password", Name: "Password",
		}}},
	}, nil
}

func (l *loginProcess) Cancel() {}

func (l *loginProcess) SubmitUserInput(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	// The login keeps only a URL the user typed; one from the config is read
	// from the config each time, so an admin can change it for everyone.
	userURL := ""
	if u, ok := input["discovery_url"]; ok {
		userURL = strings.TrimSpace(u)
	} else {
		l.username, l.password = input["username"], input["password"]
		// The message with the password stays when the bot cannot
		// redact it: the reply says so.
		step, err := l.submit(ctx, userURL)
		return bridgekit.WarnIfSecretStays(ctx, l.conn.Env.Bridge, l.user, "password", step, err)
	}
	return l.submit(ctx, userURL)
}

func (l *loginProcess) submit(ctx context.Context, userURL string) (*bridgev2.LoginStep, error) {
	if l.username == "" || l.password == "" {
		return nil, errors.New("both the address and the password are required")
	}
	api, err := l.conn.newAPI(l.username, l.password, userURL, newGUID())
	if err != nil {
		return nil, err
	}
	if err = signInAndAttach(ctx, api); err != nil {
		if errors.Is(err, ucwa.ErrDiscoveryFailed) && userURL == "" && l.conn.Config.DiscoveryURL == "" {
			return l.askDiscoveryURL(), nil
		}
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Skype for Business sign-in failed")
		return nil, loginError(err, l.username)
	}
	return l.finish(ctx, api, userURL)
}

func (l *loginProcess) askDiscoveryURL() *bridgev2.LoginStep {
	_, domain, _ := strings.Cut(l.username, "@")
	return &bridgev2.LoginStep{
		Type:   bridgev2.LoginStepTypeUserInput,
		StepID: stepDiscovery,
		Instructions: fmt.Sprintf("No Skype for Business server could be found for %s (lyncdiscoverinternal.%s and lyncdiscover.%s did not answer). "+
			"Enter your organisation's discovery URL, which your IT department can give you.", domain, domain, domain),
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: []bridgev2.LoginInputDataField{{
			Type: bridgev2.LoginInputFieldTypeURL, ID: "discovery_url", Name: "Discovery URL",
			Description: "For example https://lyncweb.corp.example/Autodiscover/AutodiscoverService.svc/root",
		}}},
	}
}

// loginError turns the client's errors into what the user should read; the
// password never appears in them.
func loginError(err error, username string) error {
	switch {
	case errors.Is(err, ucwa.ErrInvalidCredentials):
		return fmt.Errorf("the server rejected the password for %s", username)
	case errors.Is(err, ucwa.ErrInsecureURL):
		return fmt.Errorf("refusing plain http (set network.lync.allow_insecure_http only for test servers): %w", err)
	case errors.Is(err, ucwa.ErrPrivateAddress):
		return errors.New("refusing to connect to a private or local network address (an admin can allow it with network.lync.allow_private_addresses)")
	case errors.Is(err, ucwa.ErrForeignHost):
		return errors.New("the Skype for Business server sent the sign-in to a host it was not discovered on; refusing to send your password there")
	case errors.Is(err, ucwa.ErrUnreachable):
		return errors.New("could not reach the Skype for Business server")
	case errors.Is(err, ucwa.ErrDiscoveryFailed):
		// The details (what some URL a user typed answered) stay in the log.
		return errors.New("no Skype for Business server answered at that discovery URL")
	}
	return fmt.Errorf("sign-in failed: %w", err)
}

// signInAndAttach signs in, creates the application and makes the user
// available, which is what receiving IMs needs.
func signInAndAttach(ctx context.Context, api *ucwa.Client) error {
	if err := api.SignIn(ctx); err != nil {
		return err
	}
	if _, err := api.CreateApplication(ctx); err != nil {
		return err
	}
	if err := api.MakeMeAvailable(ctx, ucwa.AvailabilityOptions{}); err != nil && !ucwa.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func (l *loginProcess) finish(ctx context.Context, api *ucwa.Client, discoveryURL string) (*bridgev2.LoginStep, error) {
	// Servers embed me in the application or only link it; Me reads both.
	me, err := api.Me(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the signed-in user: %w", err)
	}
	sip := normalizeSIP(me.URI)
	if sip == "" {
		return nil, errors.New("the server did not say which SIP address you signed in as")
	}
	loginID := ids.UserLoginID(ids.Lync, sip)
	meta := &LoginMetadata{Username: l.username, SIP: sip, DiscoveryURL: discoveryURL, EndpointID: api.State().EndpointID}
	if meta.SealedPassword, err = l.conn.Box.Seal([]byte(l.password), string(loginID)); err != nil {
		return nil, fmt.Errorf("seal password: %w", err)
	}
	name := me.Name
	if name == "" {
		name = sip
	}
	ul, err := l.user.NewLogin(ctx, &bridgedb.UserLogin{
		ID:            loginID,
		RemoteName:    sip,
		RemoteProfile: status.RemoteProfile{Name: name, Email: firstOr(me.EmailAddresses, "")},
		Metadata:      loginMeta.Wrap(meta),
	}, &bridgev2.NewLoginParams{DeleteOnConflict: true})
	if err != nil {
		return nil, fmt.Errorf("save login: %w", err)
	}
	client := ul.Client.(*Client)
	client.adopt(ctx, api)
	go client.Connect(ul.Log.WithContext(l.conn.Env.Bridge.BackgroundCtx))
	return &bridgev2.LoginStep{
		Type:           bridgev2.LoginStepTypeComplete,
		StepID:         stepComplete,
		Instructions:   fmt.Sprintf("Signed in to Skype for Business as %s (%s).", name, sip),
		CompleteParams: &bridgev2.LoginCompleteParams{UserLoginID: ul.ID, UserLogin: ul},
	}, nil
}

// newGUID makes a random UUID, the form UCWA uses for endpoint and operation IDs.
func newGUID() string {
	return uuid.NewString()
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// isAddress reports whether s looks like a SIP address or e-mail without
// "sip:": a local part, "@" and a domain with a dot, no spaces or slashes.
func isAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " /")
}

// normalizeSIP turns "sip:Alice@Corp.example" into "alice@corp.example".
func normalizeSIP(uri string) string {
	s := strings.TrimSpace(uri)
	if len(s) >= 4 && strings.EqualFold(s[:4], "sip:") {
		s = s[4:]
	}
	return strings.ToLower(s)
}
