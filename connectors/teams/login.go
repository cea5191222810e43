package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/netguard"
	"github.com/imbridge/imbridge/connectors/teams/teamsapi"
)

const (
	stepAccount     = "fi.imbridge.teams.account"
	stepDeviceCode  = "fi.imbridge.teams.device_code"
	stepToken       = "fi.imbridge.teams.refresh_token"
	stepComplete    = "fi.imbridge.teams.complete"
	deviceLoginWait = 20 * time.Minute
)

var accountField = bridgev2.LoginInputDataField{
	Type: bridgev2.LoginInputFieldTypeUsername, ID: "account", Name: "Account type (work or free)",
	Description: "\"work\" for a work or school account, \"free\" for Teams free (a personal Microsoft account)",
	Validate: func(s string) (string, error) {
		if _, err := parseDeployment(s); err != nil {
			return "", err
		}
		return strings.ToLower(strings.TrimSpace(s)), nil
	},
}

func parseDeployment(s string) (teamsapi.Deployment, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "work", "school", "w":
		return teamsapi.Work, nil
	case "free", "personal", "consumer", "f":
		return teamsapi.Consumer, nil
	}
	return "", errors.New(`answer "work" or "free"`)
}

// deviceLogin is the device-code flow: the bot shows a code and Microsoft's
// URL and waits until the user approves it there (or the code expires).
type deviceLogin struct {
	conn   *Connector
	user   *bridgev2.User
	dep    teamsapi.Deployment
	device *teamsapi.DeviceLogin
}

var (
	_ bridgev2.LoginProcessUserInput      = (*deviceLogin)(nil)
	_ bridgev2.LoginProcessDisplayAndWait = (*deviceLogin)(nil)
)

func (l *deviceLogin) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	return &bridgev2.LoginStep{
		Type: bridgev2.LoginStepTypeUserInput, StepID: stepAccount,
		Instructions:    "Which Teams account do you want to bridge?",
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: []bridgev2.LoginInputDataField{accountField}},
	}, nil
}

func (l *deviceLogin) SubmitUserInput(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	dep, err := parseDeployment(input["account"])
	if err != nil {
		return nil, err
	}
	l.dep = dep
	cfg := l.conn.apiConfig(dep)
	l.device, err = teamsapi.StartDeviceLogin(ctx, cfg)
	if err != nil {
		return nil, loginError(err)
	}
	return &bridgev2.LoginStep{
		Type: bridgev2.LoginStepTypeDisplayAndWait, StepID: stepDeviceCode,
		Instructions: fmt.Sprintf("Open %s and enter the code %s, then sign in with your %s account. The code expires at %s.",
			l.device.VerificationURI, l.device.UserCode, deploymentName(dep), l.device.Expires.UTC().Format("15:04 UTC")),
		DisplayAndWaitParams: &bridgev2.LoginDisplayAndWaitParams{Type: bridgev2.LoginDisplayTypeCode, Data: l.device.UserCode},
	}, nil
}

func (l *deviceLogin) Wait(ctx context.Context) (*bridgev2.LoginStep, error) {
	if l.device == nil {
		return nil, errors.New("no sign-in code was requested")
	}
	ctx, cancel := context.WithTimeout(ctx, deviceLoginWait)
	defer cancel()
	creds, err := l.device.Wait(ctx)
	if err != nil {
		return nil, loginError(err)
	}
	return l.conn.finishLogin(ctx, l.user, l.dep, creds, nil)
}

func (l *deviceLogin) Cancel() {}

// tokenLogin signs in with a pasted refresh token.
type tokenLogin struct {
	conn *Connector
	user *bridgev2.User
}

var _ bridgev2.LoginProcessUserInput = (*tokenLogin)(nil)

func (l *tokenLogin) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	return &bridgev2.LoginStep{
		Type: bridgev2.LoginStepTypeUserInput, StepID: stepToken,
		Instructions: "Paste a refresh token of the Teams client. It is stored encrypted and never shown again.",
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: []bridgev2.LoginInputDataField{accountField, {
			Type: bridgev2.LoginInputFieldTypePassword, ID: "refresh_token", Name: "Refresh token",
		}}},
	}, nil
}

func (l *tokenLogin) SubmitUserInput(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	step, err := l.submit(ctx, input)
	return bridgekit.WarnIfSecretStays(ctx, l.conn.Env.Bridge, l.user, "refresh token", step, err)
}

func (l *tokenLogin) submit(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	dep, err := parseDeployment(input["account"])
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(input["refresh_token"])
	if token == "" {
		return nil, errors.New("the refresh token is required")
	}
	var rotated *teamsapi.Credentials
	auth, err := teamsapi.LoginWithRefreshToken(ctx, l.conn.apiConfig(dep), token, func(c teamsapi.Credentials) { rotated = &c })
	if err != nil {
		return nil, loginError(err)
	}
	creds := auth.Credentials()
	if rotated != nil {
		creds = *rotated
	}
	return l.conn.finishLogin(ctx, l.user, dep, &creds, auth)
}

func (l *tokenLogin) Cancel() {}

func deploymentName(d teamsapi.Deployment) string {
	if d == teamsapi.Consumer {
		return "personal Microsoft (Teams free)"
	}
	return "work or school"
}

// loginError turns the client's errors into what the user should read;
// tokens never appear in them.
func loginError(err error) error {
	var re *teamsapi.ReloginError
	switch {
	case errors.Is(err, teamsapi.ErrDeviceCodeExpired):
		return errors.New("the sign-in code expired before it was used; start again with `login teams`")
	case errors.Is(err, teamsapi.ErrLoginDeclined):
		return errors.New("the sign-in was declined")
	case errors.Is(err, teamsapi.ErrNoLicense):
		return errors.New("this account has no Teams license")
	case errors.As(err, &re):
		return fmt.Errorf("the sign-in was refused: %s", re.Description)
	case errors.Is(err, teamsapi.ErrInsecureURL):
		return fmt.Errorf("refusing plain http (set network.teams.allow_insecure_http only for test servers): %w", err)
	}
	return fmt.Errorf("sign-in failed: %w", err)
}

func (c *Connector) apiConfig(d teamsapi.Deployment) teamsapi.Config {
	cfg := c.Config.apiConfig(d)
	cfg.HTTPClient = c.HTTPClient
	if cfg.HTTPClient == nil && !c.Config.AllowInsecureHTTP && !proxyConfigured() {
		// Hosts come from the config and from the sign-in's answers; none
		// may lead the tokens into the local network (checked on the
		// resolved address, so a public name pointing inside is caught).
		cfg.HTTPClient = publicOnlyClient()
	}
	if c.Env != nil {
		cfg.Log = c.Env.Log.With().Str("protocol", "teams").Logger()
	}
	return cfg
}

// finishLogin mints the skypetoken to learn the account's MRI, stores the
// sealed credentials and starts the login's client.
func (c *Connector) finishLogin(ctx context.Context, user *bridgev2.User, dep teamsapi.Deployment, creds *teamsapi.Credentials, auth *teamsapi.Auth) (*bridgev2.LoginStep, error) {
	latest := *creds
	var err error
	if auth == nil {
		if auth, err = teamsapi.NewAuth(c.apiConfig(dep), latest, func(n teamsapi.Credentials) { latest = n }); err != nil {
			return nil, loginError(err)
		}
	}
	sess, err := auth.Skype(ctx)
	if err != nil {
		return nil, loginError(err)
	}
	latest = auth.Credentials()
	mri := accountMRI(sess, &latest, dep)
	if mri == "" {
		return nil, errors.New("the sign-in did not name the account")
	}
	loginID := ids.UserLoginID(ids.Teams, mri)
	raw, err := json.Marshal(latest)
	if err != nil {
		return nil, fmt.Errorf("encode credentials: %w", err)
	}
	meta := &LoginMetadata{MRI: strings.ToLower(mri), Deployment: string(dep), Email: latest.Email, EPID: teamsapi.NewEPID()}
	if old := c.Env.Bridge.GetCachedUserLoginByID(loginID); old != nil {
		// Signing in again: keep the Trouter endpoint, so the service sees
		// the same device and no endpoint piles up.
		if om, err := loginMeta.Get(old.Metadata); err == nil && om.EPID != "" {
			meta.EPID = om.EPID
		}
	}
	if meta.SealedCredentials, err = c.Box.Seal(raw, string(loginID)); err != nil {
		return nil, fmt.Errorf("seal credentials: %w", err)
	}
	name := latest.Name
	if name == "" {
		name = firstNonEmpty(latest.Email, mri)
	}
	remote := firstNonEmpty(latest.Email, mri)
	ul, err := user.NewLogin(ctx, &bridgedb.UserLogin{
		ID:            loginID,
		RemoteName:    remote,
		RemoteProfile: status.RemoteProfile{Name: name, Email: latest.Email},
		Metadata:      loginMeta.Wrap(meta),
	}, &bridgev2.NewLoginParams{DeleteOnConflict: true})
	if err != nil {
		return nil, fmt.Errorf("save login: %w", err)
	}
	client := ul.Client.(*Client)
	go client.Connect(ul.Log.WithContext(c.Env.Bridge.BackgroundCtx))
	return &bridgev2.LoginStep{
		Type: bridgev2.LoginStepTypeComplete, StepID: stepComplete,
		Instructions:   fmt.Sprintf("Signed in to Microsoft Teams as %s (%s).", name, remote),
		CompleteParams: &bridgev2.LoginCompleteParams{UserLoginID: ul.ID, UserLogin: ul},
	}, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// accountMRI is the signed-in account's MRI: from the skypetoken when it
// names one, else from the id_token's object id.
func accountMRI(sess *teamsapi.SkypeSession, creds *teamsapi.Credentials, dep teamsapi.Deployment) string {
	if mri := sess.MRI(); mri != "" {
		return strings.ToLower(mri)
	}
	if creds.UserID == "" {
		return ""
	}
	if dep == teamsapi.Consumer {
		return "8:live:.cid." + strings.ToLower(creds.UserID)
	}
	return "8:orgid:" + strings.ToLower(creds.UserID)
}

// errPrivateAddress is what a connection to a refused address fails with.
var errPrivateAddress = errors.New("refusing to connect to a private or local network address (allowed only with network.teams.allow_insecure_http, for test servers)")

// proxyConfigured says the environment names an HTTP(S) proxy: the
// connections then go to the proxy, which may well be on a private
// address, and the proxy decides where requests may go.
func proxyConfigured() bool {
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// publicOnlyClient is an HTTP client whose connections may go to public
// addresses only: those package netguard lists are refused when dialled.
func publicOnlyClient() *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, Control: netguard.Control(errPrivateAddress)}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}
}
