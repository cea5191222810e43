package teamsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// MaxProfilePicture caps how much of a profile picture answer is read. A
// 64x64 picture is a few KiB; anything near this is not a picture.
const MaxProfilePicture = 5 << 20

// profilePictureSize is the size the Teams clients ask the middle tier for.
const profilePictureSize = "HR64x64"

// ErrPictureTooLarge is a profile picture answer over MaxProfilePicture.
var ErrPictureTooLarge = errors.New("teamsapi: profile picture too large")

// middleTierScope is the bearer scope of the deployment's middle tier.
func (a *Auth) middleTierScope() string {
	if a.cfg.Deployment == Consumer {
		return ConsumerMiddleTier
	}
	return a.cfg.skypeScope()
}

// ProfilePicture fetches a person's profile picture from the middle tier
// (GET {middleTier}/beta/users/{mri}/profilepicturev2). A person without a
// picture gives nil data and a nil error: the service answers them 404, or
// with something that is not an image (a page, JSON, a generated SVG), and
// none of those is a picture to show. Other failures are errors, so a caller
// can keep the picture it has rather than drop it on a transient fault.
//
// The bearer token goes only to the middle tier host the authz answer named
// or the config set; on 401 the bearer and the skypetoken are renewed once.
func (a *Auth) ProfilePicture(ctx context.Context, mri, displayName string) (data []byte, mime string, err error) {
	if mri == "" {
		return nil, "", errors.New("profile picture: no MRI")
	}
	scope := a.middleTierScope()
	q := url.Values{"displayname": {displayName}, "size": {profilePictureSize}}
	path := "/beta/users/" + url.PathEscape(mri) + "/profilepicturev2?" + q.Encode()
	for attempt := 0; ; attempt++ {
		s, err := a.Skype(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("profile picture: %w", err)
		}
		base := s.Hosts["middleTier"]
		if base == "" {
			return nil, "", fmt.Errorf("profile picture: %w: no middleTier host from authz or config", ErrForeignHost)
		}
		bearer, err := a.AccessToken(ctx, scope)
		if err != nil {
			return nil, "", fmt.Errorf("profile picture: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, "", fmt.Errorf("profile picture: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("X-Skypetoken", s.Token)
		req.Header.Set("Accept", "image/*")
		resp, err := a.cfg.HTTPClient.Do(req)
		if err != nil {
			return nil, "", fmt.Errorf("profile picture: GET middleTier: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxProfilePicture+1))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			a.InvalidateAccess(scope, bearer)
			a.InvalidateSkype(s.Token)
			continue
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusNoContent:
			return nil, "", nil
		case resp.StatusCode >= 300:
			e := &chatsvc.Error{Method: http.MethodGet, Path: "/beta/users/{mri}/profilepicturev2", StatusCode: resp.StatusCode}
			e.Code, e.Message = chatsvc.ParseErrorBody(body)
			if ra, ok := chatsvc.ParseRetryAfter(resp.Header.Get("Retry-After"), a.cfg.Now()); ok {
				e.RetryAfter = ra
			}
			return nil, "", fmt.Errorf("profile picture: %w", e)
		case err != nil:
			return nil, "", fmt.Errorf("profile picture: read answer: %w", err)
		case len(body) > MaxProfilePicture:
			return nil, "", fmt.Errorf("profile picture: %w (over %d bytes)", ErrPictureTooLarge, MaxProfilePicture)
		}
		mime, ok := pictureType(body)
		if !ok {
			a.cfg.Log.Debug().Str("content_type", resp.Header.Get("Content-Type")).Int("bytes", len(body)).
				Msg("Profile picture answer is not an image; treating it as no picture")
			return nil, "", nil
		}
		return body, mime, nil
	}
}

// pictureType is the image type of a picture answer, sniffed from its bytes:
// the Content-Type header is not trusted, as an error page or a generated
// placeholder may come labelled image/*. SVG sniffs as text and is refused
// on purpose: Matrix clients do not render SVG avatars reliably.
func pictureType(body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	mime := http.DetectContentType(body)
	return mime, strings.HasPrefix(mime, "image/")
}
