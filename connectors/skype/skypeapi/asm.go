package skypeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// ASM object types.
const (
	ASMFile  = "sharing/file"
	ASMImage = "pish/image"
	ASMAudio = "sharing/audio"
	ASMVideo = "sharing/video"
)

// contentName is the upload slot of each object type.
func contentName(typ string) string {
	switch typ {
	case ASMImage:
		return "imgpsh"
	case ASMAudio:
		return "audio"
	case ASMVideo:
		return "video"
	}
	return "original"
}

// Upload stores data in ASM readable by the given MRIs (the conversation's
// members, or the conversation id) and returns the object id and its URI.
func (c *Client) Upload(ctx context.Context, typ, filename string, data []byte, readers []string) (id, uri string, err error) {
	perms := map[string][]string{}
	for _, r := range readers {
		perms[r] = []string{"read"}
	}
	meta := map[string]any{"type": typ, "permissions": perms}
	if typ != ASMImage {
		meta["filename"] = filename
	}
	body, _ := json.Marshal(meta)
	resp, answer, err := c.asmCall(ctx, http.MethodPost, c.cfg.ASMURL+"/v1/objects", "application/json", body)
	if err != nil {
		return "", "", fmt.Errorf("create ASM object: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return "", "", fmt.Errorf("create ASM object: %w", asmError(resp, answer))
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(answer, &obj) != nil || obj.ID == "" {
		return "", "", fmt.Errorf("create ASM object: %w: no id", ErrProtocol)
	}
	uri = c.cfg.ASMURL + "/v1/objects/" + url.PathEscape(obj.ID)
	resp, answer, err = c.asmCall(ctx, http.MethodPut, uri+"/content/"+contentName(typ), "application/octet-stream", data)
	if err != nil {
		return "", "", fmt.Errorf("upload ASM content: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return "", "", fmt.Errorf("upload ASM content: %w", asmError(resp, answer))
	}
	return obj.ID, uri, nil
}

// SendFile uploads a file or image to a conversation and posts the message
// that shows it.
func (c *Client) SendFile(ctx context.Context, conv string, image bool, filename string, data []byte, readers []string) (*chatsvc.SendResult, error) {
	typ := ASMFile
	if image {
		typ = ASMImage
	}
	id, uri, err := c.Upload(ctx, typ, filename, data, readers)
	if err != nil {
		return nil, err
	}
	m := Outgoing{MessageType: TypeFile, Content: chatsvc.FileURIObject(uri, id, filename, int64(len(data))), AMSReferences: []string{id}}
	if image {
		m.MessageType = TypeImage
		m.Content = chatsvc.ImageURIObject(uri, id, filename, int64(len(data)))
	}
	return c.Send(ctx, conv, m)
}

// Download fetches a view (original, imgpsh_fullsize, imgt1, thumbnail...)
// of an ASM object named by a message's URIObject uri. The skypetoken only
// goes to the configured ASM host or its regional siblings; when the global
// host cannot serve a regional object, the region's host is tried.
func (c *Client) Download(ctx context.Context, uri, view string) ([]byte, error) {
	u, err := url.Parse(uri)
	if err != nil || !strings.Contains(u.Path, "/v1/objects/") {
		return nil, fmt.Errorf("download %q: %w: not an ASM object URL", uri, ErrProtocol)
	}
	if !regionalSibling(u.Host, hostOf(c.cfg.ASMURL)) || c.cfg.checkURL(u.Scheme+"://"+u.Host) != nil {
		return nil, fmt.Errorf("download from %s: %w", u.Host, ErrForeignHost)
	}
	if view == "" {
		view = "original"
	}
	obj := strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	if i := strings.Index(obj, "/views/"); i >= 0 {
		obj = obj[:i]
	}
	resp, data, err := c.asmCall(ctx, http.MethodGet, obj+"/views/"+view, "", nil)
	if err != nil {
		return nil, fmt.Errorf("download ASM object: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	if region := asmRegion(obj); region != "" && resp.StatusCode == http.StatusNotFound {
		if alt := regionalASM(obj, region); alt != "" && alt != obj {
			resp, data, err = c.asmCall(ctx, http.MethodGet, alt+"/views/"+view, "", nil)
			if err == nil && resp.StatusCode/100 == 2 {
				return data, nil
			}
			if err != nil {
				return nil, fmt.Errorf("download ASM object from region %s: %w", region, err)
			}
		}
	}
	return nil, fmt.Errorf("download ASM object: %w", asmError(resp, data))
}

// asmRegion reads "weu" from an object id "0-weu-d1-<hex>".
func asmRegion(obj string) string {
	id := obj[strings.LastIndex(obj, "/")+1:]
	parts := strings.Split(id, "-")
	if len(parts) >= 3 && parts[0] == "0" {
		return parts[1]
	}
	return ""
}

// regionalASM rewrites https://api.asm.skype.com/... to https://weu1-api.asm.skype.com/...
func regionalASM(obj, region string) string {
	u, err := url.Parse(obj)
	if err != nil {
		return ""
	}
	if net.ParseIP(u.Hostname()) != nil {
		return ""
	}
	label, parent, ok := strings.Cut(u.Host, ".")
	if !ok || strings.Contains(label, "-") || !strings.Contains(parent, ".") {
		return ""
	}
	u.Host = region + "1-" + label + "." + parent
	return u.String()
}

func (c *Client) asmCall(ctx context.Context, method, u, contentType string, body []byte) (*http.Response, []byte, error) {
	tok := c.Session().SkypeToken
	h := http.Header{"Authorization": {"skype_token " + tok}, "X-Client-Version": {"0/0.0.0.0"}}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	if rd == nil {
		return doHTTP(ctx, c.cfg.HTTPClient, method, u, h, nil)
	}
	return doHTTP(ctx, c.cfg.HTTPClient, method, u, h, rd)
}

func asmError(resp *http.Response, data []byte) error {
	code, msg := errorBody(data)
	if resp.StatusCode == http.StatusUnauthorized {
		return &LoginError{Step: "asm", Kind: ErrTokenRejected, Code: "401", Message: msg}
	}
	return fmt.Errorf("HTTP %s %s %s", strconv.Itoa(resp.StatusCode), code, msg)
}
