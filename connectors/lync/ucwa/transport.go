package ucwa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/imbridge/imbridge/connectors/retryafter"
)

const maxBodyBytes = 16 << 20

type request struct {
	method      string
	href        string
	query       url.Values // merged into the href's own query
	body        []byte
	contentType string
	accept      string
	noAuth      bool
	timeout     time.Duration
	header      http.Header // extra headers
}

type response struct {
	status int
	header http.Header
	body   []byte
	url    *url.URL
}

// call sends req, renews the token once on 401, and turns error statuses
// into *Error.
func (c *Client) call(ctx context.Context, req request) (*response, error) {
	used := c.Token().AccessToken
	resp, err := c.send(ctx, req, used)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusUnauthorized && !req.noAuth {
		if err := c.reauth(ctx, used, resp.header); err != nil {
			return nil, err
		}
		if resp, err = c.send(ctx, req, c.Token().AccessToken); err != nil {
			return nil, err
		}
	}
	if resp.status >= 400 {
		return resp, newError(req.method, resp)
	}
	return resp, nil
}

// send performs one HTTP exchange.
func (c *Client) send(ctx context.Context, req request, token string) (*response, error) {
	u, err := c.resolve(req.href)
	if err != nil {
		return nil, err
	}
	if len(req.query) > 0 {
		q := u.Query()
		for k, vs := range req.query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	if token != "" && !req.noAuth {
		if err := c.checkTrusted(u, "the access token"); err != nil {
			return nil, fmt.Errorf("ucwa: %s %s: %w", req.method, u.Path, err)
		}
	}
	timeout := req.timeout
	if timeout == 0 {
		timeout = c.cfg.RequestTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(rctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("ucwa: build %s request: %w", req.method, err)
	}
	accept := req.accept
	if accept == "" {
		accept = "application/json"
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	hr.Header.Set("Accept", accept)
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	if token != "" && !req.noAuth {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	hresp, err := c.hc.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ucwa: %s %s: %w", req.method, u.Path, ctx.Err())
		}
		if errors.Is(err, ErrPrivateAddress) {
			return nil, fmt.Errorf("ucwa: %s %s: %w", req.method, u.Host, ErrPrivateAddress)
		}
		var ue *url.Error
		if errors.As(err, &ue) && errors.Is(ue.Err, ErrInsecureURL) {
			return nil, fmt.Errorf("ucwa: %s %s: %w", req.method, u.Path, ue.Err)
		}
		return nil, fmt.Errorf("ucwa: %s %s: %w: %w", req.method, u.Path, ErrUnreachable, unwrapURLError(err))
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxBodyBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ucwa: %s %s: %w", req.method, u.Path, ctx.Err())
		}
		return nil, fmt.Errorf("ucwa: %s %s: read body: %w: %w", req.method, u.Path, ErrUnreachable, err)
	}
	if len(data) > maxBodyBytes {
		return nil, fmt.Errorf("%w: %s %s: body larger than %d bytes", ErrMalformedResponse, req.method, u.Path, maxBodyBytes)
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: data, url: u}, nil
}

// unwrapURLError drops net/http's "Get \"url\":" prefix; the path is
// already in our own message.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func newError(method string, resp *response) *Error {
	e := &Error{StatusCode: resp.status, Method: method, Path: resp.url.Path}
	var info ErrorInfo
	if json.Unmarshal(resp.body, &info) == nil {
		e.ErrorInfo = info
	}
	// A bad or missing value gives zero: the caller's own backoff.
	e.RetryAfter, _ = retryafter.Parse(resp.header.Get("Retry-After"), time.Now())
	return e
}

// getJSON GETs href and decodes the JSON body into v.
func (c *Client) getJSON(ctx context.Context, href string, v any) error {
	resp, err := c.call(ctx, request{method: http.MethodGet, href: href})
	if err != nil {
		return err
	}
	return jsonDecode(resp, v)
}

// GetJSON GETs any UCWA href (for example a link from an event) and decodes
// the resource into v.
func (c *Client) GetJSON(ctx context.Context, href string, v any) error {
	return c.getJSON(ctx, href, v)
}

// postJSON POSTs v as JSON and returns the response.
func (c *Client) postJSON(ctx context.Context, href string, v any) (*response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("ucwa: encode request: %w", err)
	}
	return c.call(ctx, request{method: http.MethodPost, href: href, body: body, contentType: "application/json"})
}

// postEmpty POSTs without a body.
func (c *Client) postEmpty(ctx context.Context, href string) (*response, error) {
	return c.call(ctx, request{method: http.MethodPost, href: href})
}

func jsonDecode(resp *response, v any) error {
	if err := json.Unmarshal(resp.body, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformedResponse, resp.url.Path, err)
	}
	return nil
}
