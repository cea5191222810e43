package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/mediaproxy"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
)

var _ protocol.DirectMediaProtocol = (*Connector)(nil)

// mediaRef is the native part of a Teams media ID: which login may read the
// AMS object, and which view of it to serve.
type mediaRef struct {
	Login  networkid.UserLoginID `json:"l"`
	Object string                `json:"o"`
	View   string                `json:"v"`
}

// SetUseDirectMedia switches AMS files to direct media: Matrix gets mxc://
// URIs that the bridge serves by fetching the object with the login's
// skypetoken when a client asks, instead of copying every file up front.
func (c *Connector) SetUseDirectMedia() { c.directMedia = true }

// Download serves one AMS object through the login that saw it.
func (c *Connector) Download(ctx context.Context, native []byte, params map[string]string) (mediaproxy.GetMediaResponse, error) {
	var ref mediaRef
	if err := json.Unmarshal(native, &ref); err != nil || ref.Object == "" {
		return nil, mautrix.MNotFound.WithMessage("Unknown Teams media ID")
	}
	login := c.Env.Bridge.GetCachedUserLoginByID(ref.Login)
	if login == nil {
		return nil, mautrix.MNotFound.WithMessage("The Teams login of this file is gone")
	}
	client, ok := login.Client.(*Client)
	if !ok || client.auth == nil {
		return nil, mautrix.MNotFound.WithMessage("The Teams login of this file is not signed in")
	}
	data, mime, err := client.auth.Files().Download(ctx, ref.Object, ref.View)
	if err != nil {
		return nil, fmt.Errorf("download AMS object: %w", err)
	}
	return &mediaproxy.GetMediaResponseData{Reader: io.NopCloser(bytes.NewReader(data)), ContentType: mime, ContentLength: int64(len(data))}, nil
}

// directURI is the mxc:// URI that serves an AMS object directly.
func (c *Client) directURI(ctx context.Context, object, view string) (id.ContentURIString, error) {
	native, err := json.Marshal(mediaRef{Login: c.Login.ID, Object: object, View: view})
	if err != nil {
		return "", err
	}
	return c.conn.Env.Bridge.Matrix.GenerateContentURI(ctx, ids.MediaID(ids.Teams, native))
}
