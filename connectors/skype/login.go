package skype

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	bridgedb "maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/connectors/bridgekit"
	"github.com/imbridge/imbridge/connectors/skype/skypeapi"
)

const (
	stepCredentials = "fi.imbridge.skype.credentials"
	stepToken       = "fi.imbridge.skype.token"
	stepComplete    = "fi.imbridge.skype.complete"
)

// passwordLogin asks for the account and password; the password is sealed
// into the login so the bridge can renew the ~24 h skypetoken itself.
type passwordLogin struct {
	conn *Connector
	user *bridgev2.User
}

var _ bridgev2.LoginProcessUserInput = (*passwordLogin)(nil)

func (l *passwordLogin) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	return &bridgev2.LoginStep{
		Type:         bridgev2.LoginStepTypeUserInput,
		StepID:       stepCredentials,
		Instructions: "Sign in to Skype with your Microsoft-account e-mail or Skype name and your password (an app password works too).",
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: []bridgev2.LoginInputDataField{{
			Type: bridgev2.LoginInputFieldTypeUsername, ID: "username", Name: "E-mail or Skype name",
			Description: "For example carol@example.com or live:carol",
			Validate: func(s string) (string, error) {
				s = strings.TrimSpace(s)
				if s == "" || strings.ContainsAny(s, " \t\n") {
					return "", errors.New("enter an e-mail address or Skype name without spaces")
				}
				return s, nil
			},
		}, {
			Type: bridgev2.LoginInputFieldTypePassword, ID: "password", Name: "Password",
		}}},
	}, nil
}

func (l *passwordLogin) Cancel() {}

func (l *passwordLogin) SubmitUserInput(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	step, err := l.submit(ctx, input)
	return bridgekit.WarnIfSecretStays(ctx, l.conn.Env.Bridge, l.user, "password", step, err)
}

func (l *passwordLogin) submit(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	username, password := strings.TrimSpace(input["username"]), input["password"]
	if username == "" || password == "" {
		return nil, errors.New("both the account and the password are required")
	}
	auth, err := skypeapi.NewAuth(l.conn.apiConfig())
	if err != nil {
		return nil, fmt.Errorf("skype config: %w", err)
	}
	sess, err := auth.Login(ctx, username, password)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Skype sign-in failed")
		return nil, loginError(err, username)
	}
	return finishLogin(ctx, l.conn, l.user, auth, sess, username, password)
}

// tokenLogin takes a skypetoken from a signed-in web session. Without a
// password it cannot be renewed: the user is told when it lapses.
type tokenLogin struct {
	conn *Connector
	user *bridgev2.User
}

var _ bridgev2.LoginProcessUserInput = (*tokenLogin)(nil)

func (l *tokenLogin) Start(ctx context.Context) (*bridgev2.LoginStep, error) {
	return &bridgev2.LoginStep{
		Type:   bridgev2.LoginStepTypeUserInput,
		StepID: stepToken,
		Instructions: "Paste the skypetoken of a signed-in Skype web session (the value of the X-Skypetoken header). " +
			"It lasts about 24 hours; after that you will be asked to log in again.",
		UserInputParams: &bridgev2.LoginUserInputParams{Fields: []bridgev2.LoginInputDataField{{
			Type: bridgev2.LoginInputFieldTypeToken, ID: "token", Name: "skypetoken",
		}}},
	}, nil
}

func (l *tokenLogin) Cancel() {}

func (l *tokenLogin) SubmitUserInput(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	step, err := l.submit(ctx, input)
	return bridgekit.WarnIfSecretStays(ctx, l.conn.Env.Bridge, l.user, "skypetoken", step, err)
}

func (l *tokenLogin) submit(ctx context.Context, input map[string]string) (*bridgev2.LoginStep, error) {
	tok := strings.TrimSpace(input["token"])
	tok = strings.TrimPrefix(tok, "skypetoken=")
	if tok == "" {
		return nil, errors.New("the skypetoken is required")
	}
	auth, err := skypeapi.NewAuth(l.conn.apiConfig())
	if err != nil {
		return nil, fmt.Errorf("skype config: %w", err)
	}
	sess, err := auth.LoginToken(ctx, tok)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Skype token login failed")
		return nil, loginError(err, "")
	}
	return finishLogin(ctx, l.conn, l.user, auth, sess, "", "")
}

// loginError turns the client's errors into what the user should read; the
// password never appears in them.
func loginError(err error, username string) error {
	var le *skypeapi.LoginError
	detail := ""
	if errors.As(err, &le) && le.Message != "" {
		detail = " (" + le.Message + ")"
	}
	switch {
	case errors.Is(err, skypeapi.ErrBadCredentials) && username != "":
		return fmt.Errorf("the Skype sign-in was refused: wrong account name or password for %s%s", username, detail)
	case errors.Is(err, skypeapi.ErrBadCredentials), errors.Is(err, skypeapi.ErrTokenRejected):
		return fmt.Errorf("the Skype service rejected the skypetoken%s", detail)
	case errors.Is(err, skypeapi.ErrAuthRateLimited):
		wait := "a few minutes"
		if le != nil && le.RetryAfter > 0 {
			wait = le.RetryAfter.Round(time.Minute).String()
		}
		return fmt.Errorf("the Skype service is refusing sign-ins for now (too many attempts); try again in %s", wait)
	case errors.Is(err, skypeapi.ErrAccountActionRequired):
		return fmt.Errorf("the account needs attention first: sign in once at web.skype.com in a browser (captcha, new terms or two-step verification)%s", detail)
	case errors.Is(err, skypeapi.ErrForeignHost):
		return errors.New("the Skype service sent the sign-in to a host the bridge is not configured to trust; refusing to send your credentials there")
	case errors.Is(err, errPrivateAddress):
		return errPrivateAddress
	}
	return fmt.Errorf("the Skype sign-in failed: %w", err)
}

func sealSession(conn *Connector, loginID string, s *skypeapi.Session) (string, error) {
	raw, err := json.Marshal(sealedSession{Token: s.SkypeToken, Expires: unixOrZero(s.Expires), UserID: s.UserID, SignIn: s.SignInName})
	if err != nil {
		return "", err
	}
	return conn.Box.Seal(raw, loginID)
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func finishLogin(ctx context.Context, conn *Connector, user *bridgev2.User, auth *skypeapi.Auth, sess *skypeapi.Session, signIn, password string) (*bridgev2.LoginStep, error) {
	name := sess.UserID
	if p, err := auth.SelfProfile(ctx, sess.SkypeToken); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("Cannot read the Skype profile; using the Skype name")
	} else if n := p.DisplayName(); n != "" {
		name = n
	}
	loginID := ids.UserLoginID(ids.Skype, sess.UserID)
	meta := &LoginMetadata{UserID: sess.UserID, SignIn: signIn}
	var err error
	if password != "" {
		if meta.SealedPassword, err = conn.Box.Seal([]byte(password), string(loginID)); err != nil {
			return nil, fmt.Errorf("seal password: %w", err)
		}
	}
	if meta.SealedToken, err = sealSession(conn, string(loginID), sess); err != nil {
		return nil, fmt.Errorf("seal skypetoken: %w", err)
	}
	ul, err := user.NewLogin(ctx, &bridgedb.UserLogin{
		ID:            loginID,
		RemoteName:    sess.UserID,
		RemoteProfile: status.RemoteProfile{Name: name, Username: sess.UserID, Email: sess.SignInName},
		Metadata:      loginMeta.Wrap(meta),
	}, &bridgev2.NewLoginParams{DeleteOnConflict: true})
	if err != nil {
		return nil, fmt.Errorf("save login: %w", err)
	}
	go ul.Client.Connect(ul.Log.WithContext(conn.Env.Bridge.BackgroundCtx))
	return &bridgev2.LoginStep{
		Type:           bridgev2.LoginStepTypeComplete,
		StepID:         stepComplete,
		Instructions:   fmt.Sprintf("Signed in to Skype as %s (%s).", name, sess.UserID),
		CompleteParams: &bridgev2.LoginCompleteParams{UserLoginID: ul.ID, UserLogin: ul},
	}, nil
}
