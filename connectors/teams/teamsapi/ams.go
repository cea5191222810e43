package teamsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// AMS object types.
const (
	AMSImage = "pish/image"
	AMSFile  = "sharing/file"
	// AMSVideo makes AMS transcode the uploaded original into its "video"
	// (and thumbnail) views.
	AMSVideo = "sharing/videototranscode"
	// AMSAudio is a voice message or other audio (the Skype lineage's
	// type; its content goes under "audio").
	AMSAudio = "sharing/audio"
)

// uploadSlot is the content name an object of kind is uploaded under.
func uploadSlot(kind string) string {
	switch kind {
	case AMSImage:
		return "imgpsh"
	case AMSAudio:
		return "audio"
	}
	return "original" // files, and the original a video is transcoded from
}

// Files is the AMS (async media service) client of one account.
type Files struct {
	auth *Auth
	// MaxSize caps downloads (default 100 MiB).
	MaxSize int64
}

// Files returns the AMS client.
func (a *Auth) Files() *Files { return &Files{auth: a, MaxSize: 100 << 20} }

func (f *Files) base(ctx context.Context) (string, string, error) {
	s, err := f.auth.Skype(ctx)
	if err != nil {
		return "", "", err
	}
	b := firstNonEmpty(s.Hosts["ams"], s.Hosts["amsV2"])
	if b == "" {
		return "", "", fmt.Errorf("%w: no AMS host from authz or config", ErrForeignHost)
	}
	return b, s.Token, nil
}

// do sends one AMS request with "Authorization: skype_token", re-minting
// the skypetoken once on 401.
func (f *Files) do(ctx context.Context, method, path, contentType string, body []byte) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		base, tok, err := f.base(ctx)
		if err != nil {
			return nil, err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "skype_token "+tok)
		// AMS is reported to reject non-Skype user agents.
		req.Header.Set("User-Agent", "SkypeOfficialClient/0/0.0.0.0")
		req.Header.Set("X-Ms-Client-Type", "SkypeSpacesWeb")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := f.auth.cfg.HTTPClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			resp.Body.Close()
			f.auth.InvalidateSkype(tok)
			continue
		}
		if resp.StatusCode >= 300 {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			e := &chatsvc.Error{Method: method, Path: path, StatusCode: resp.StatusCode}
			e.Code, e.Message = chatsvc.ParseErrorBody(data)
			if ra, ok := chatsvc.ParseRetryAfter(resp.Header.Get("Retry-After"), f.auth.cfg.Now()); ok {
				e.RetryAfter = ra
			}
			return nil, e
		}
		return resp, nil
	}
}

// Upload creates an object readable by the given conversations/MRIs and
// uploads data. It returns the object id.
func (f *Files) Upload(ctx context.Context, kind, filename, mime string, readers []string, data []byte) (string, error) {
	perms := map[string][]string{}
	for _, r := range readers {
		perms[r] = []string{"read"}
	}
	meta, _ := json.Marshal(map[string]any{"type": kind, "permissions": perms, "filename": filename, "sharingMode": "Inline"})
	resp, err := f.do(ctx, http.MethodPost, "/v1/objects/", "application/json", meta)
	if err != nil {
		return "", fmt.Errorf("create AMS object: %w", err)
	}
	var obj struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&obj)
	resp.Body.Close()
	if err != nil || obj.ID == "" {
		return "", fmt.Errorf("create AMS object: %w: no id", chatsvc.ErrMalformedResponse)
	}
	content := uploadSlot(kind)
	if mime == "" {
		mime = "application/octet-stream"
	}
	resp, err = f.do(ctx, http.MethodPut, "/v1/objects/"+url.PathEscape(obj.ID)+"/content/"+content, mime, data)
	if err != nil {
		return "", fmt.Errorf("upload AMS content: %w", err)
	}
	resp.Body.Close()
	return obj.ID, nil
}

// Download fetches an object's view ("imgo", "imgpsh_fullsize", "original",
// "thumbnail"...). It returns the bytes and content type.
func (f *Files) Download(ctx context.Context, objectID, view string) ([]byte, string, error) {
	resp, err := f.do(ctx, http.MethodGet, "/v1/objects/"+url.PathEscape(objectID)+"/views/"+url.PathEscape(view), "", nil)
	if err != nil {
		return nil, "", fmt.Errorf("download AMS object %s: %w", objectID, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.MaxSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("download AMS object %s: %w", objectID, err)
	}
	if int64(len(data)) > f.MaxSize {
		return nil, "", fmt.Errorf("download AMS object %s: larger than %d bytes", objectID, f.MaxSize)
	}
	return data, resp.Header.Get("Content-Type"), nil
}

// FetchInline downloads an inline image named in a message. The src URL
// itself is never requested with credentials: only its AMS object id is
// used, against the AMS host the login discovered.
func (f *Files) FetchInline(ctx context.Context, src string) ([]byte, string, error) {
	_, rest, ok := strings.Cut(src, "/v1/objects/")
	if !ok {
		return nil, "", fmt.Errorf("%w: %q is no AMS object URL", ErrForeignHost, src)
	}
	id, viewPart, _ := strings.Cut(rest, "/")
	view := "imgo"
	if v, ok := strings.CutPrefix(viewPart, "views/"); ok && v != "" {
		view, _, _ = strings.Cut(v, "?")
	}
	if id == "" {
		return nil, "", fmt.Errorf("%w: %q names no object", ErrForeignHost, src)
	}
	return f.Download(ctx, id, view)
}

// ImageHTML renders the RichText/Html body that shows an uploaded image.
func ImageHTML(amsBase, objectID string) string {
	src := strings.TrimRight(amsBase, "/") + "/v1/objects/" + objectID + "/views/imgo"
	return `<p><img itemscope="image" src="` + src + `" itemtype="http://schema.skype.com/AMSImage" id="` + objectID +
		`" itemid="` + objectID + `" href="` + src + `" target-src="` + src + `"></p>`
}
