package synapse

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// User is a Matrix account created through the shared-secret admin API.
type User struct {
	UserID      id.UserID
	Password    string
	AccessToken string
	DeviceID    id.DeviceID
}

// ErrUserInUse is returned by RegisterUser when the localpart is taken.
var ErrUserInUse = fmt.Errorf("matrix user ID already taken")

// RegisterUser creates a user with Synapse's shared-secret registration
// (GET a nonce, then POST the HMAC-SHA1 of nonce, username, password and
// admin flag keyed with registration_shared_secret). This works with
// enable_registration: false, which keeps the server closed otherwise.
// The returned access token belongs to a fresh device.
func (s *Server) RegisterUser(ctx context.Context, localpart, password string, admin bool) (*User, error) {
	var nonceResp struct {
		Nonce string `json:"nonce"`
	}
	if err := s.adminJSON(ctx, http.MethodGet, "/_synapse/admin/v1/register", nil, &nonceResp); err != nil {
		return nil, fmt.Errorf("get registration nonce: %w", err)
	}
	adminFlag := "notadmin"
	if admin {
		adminFlag = "admin"
	}
	mac := hmac.New(sha1.New, []byte(s.SharedSecret))
	for i, part := range []string{nonceResp.Nonce, localpart, password, adminFlag} {
		if i > 0 {
			mac.Write([]byte{0})
		}
		mac.Write([]byte(part))
	}
	body := map[string]any{
		"nonce":    nonceResp.Nonce,
		"username": localpart,
		"password": password,
		"admin":    admin,
		"mac":      hex.EncodeToString(mac.Sum(nil)),
	}
	var reg struct {
		UserID      id.UserID   `json:"user_id"`
		AccessToken string      `json:"access_token"`
		DeviceID    id.DeviceID `json:"device_id"`
	}
	if err := s.adminJSON(ctx, http.MethodPost, "/_synapse/admin/v1/register", body, &reg); err != nil {
		return nil, fmt.Errorf("register %s: %w", localpart, err)
	}
	return &User{UserID: reg.UserID, Password: password, AccessToken: reg.AccessToken, DeviceID: reg.DeviceID}, nil
}

// adminJSON sends a JSON request and decodes a JSON answer, turning
// Matrix errors into Go errors (M_USER_IN_USE into ErrUserInUse).
func (s *Server) adminJSON(ctx context.Context, method, path string, in, out any) error {
	var reqBody io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		reqBody = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, reqBody)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var merr struct {
			Code string `json:"errcode"`
			Msg  string `json:"error"`
		}
		_ = json.Unmarshal(data, &merr)
		if merr.Code == "M_USER_IN_USE" {
			return ErrUserInUse
		}
		return fmt.Errorf("%s %s: HTTP %d %s: %s", method, path, resp.StatusCode, merr.Code, merr.Msg)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s answer: %w", path, err)
	}
	return nil
}

// Login logs a user in with a password and returns a client for a new
// device. Tests that need end-to-end encryption wrap it in a crypto helper.
func (s *Server) Login(ctx context.Context, localpart, password string) (*mautrix.Client, error) {
	cli, err := mautrix.NewClient(s.URL, "", "")
	if err != nil {
		return nil, fmt.Errorf("create matrix client: %w", err)
	}
	_, err = cli.Login(ctx, &mautrix.ReqLogin{
		Type:             mautrix.AuthTypePassword,
		Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: localpart},
		Password:         password,
		StoreCredentials: true,
	})
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", localpart, err)
	}
	return cli, nil
}

// UserID returns the full Matrix ID of a localpart on this server.
func (s *Server) UserID(localpart string) id.UserID {
	return id.NewUserID(localpart, s.ServerName)
}
