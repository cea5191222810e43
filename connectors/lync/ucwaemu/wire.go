package ucwaemu

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// obj is a JSON object under construction; encoding/json sorts its keys,
// which is as good as any order (clients must not depend on it).
type obj = map[string]any

func link(href string) obj { return obj{"href": href} }

func titled(href, title string) obj { return obj{"href": href, "title": title} }

// wireDate renders the ASP.NET AJAX date form "\/Date(ms)\/" verbatim.
type wireDate time.Time

func (d wireDate) MarshalJSON() ([]byte, error) {
	return []byte(`"\/Date(` + strconv.FormatInt(time.Time(d).UnixMilli(), 10) + `)\/"`), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// codeFor is the UCWA error code that goes with an HTTP status.
func codeFor(status int) string {
	switch status {
	case 400:
		return "BadRequest"
	case 403:
		return "Forbidden"
	case 404:
		return "NotFound"
	case 405:
		return "MethodNotAllowed"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 412:
		return "PreconditionFailed"
	case 415:
		return "UnsupportedMediaType"
	case 429:
		return "TooManyRequests"
	case 503:
		return "ServiceUnavailable"
	case 504:
		return "Timeout"
	}
	if status >= 500 {
		return "ServiceFailure"
	}
	return "BadRequest"
}

func writeError(w http.ResponseWriter, status int, subcode, message string) {
	body := obj{"code": codeFor(status), "message": message}
	if subcode != "" {
		body["subcode"] = subcode
	}
	writeJSON(w, status, body)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newGUID returns a random (version 4) UUID, the form UCWA uses for IDs.
func newGUID() string {
	return uuid.NewString()
}

// newAppID mimics real application ids such as "10502278016".
func newAppID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1e8))
	return fmt.Sprintf("105%08d", n.Int64())
}

// newETag mimics etags such as "873444896".
func newETag() int {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e8))
	return int(n.Int64()) + 1e8
}

// newThreadID mimics "AdI5/JVLEqc1Sn3OCUCviKuBNKZMFw==".
func newThreadID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// reason builds the error object of a failed operation event.
func reason(code, subcode, message string) obj {
	return obj{
		"code": code, "subcode": subcode, "message": message,
		"debugInfo": obj{"errorReportId": randomHex(16)},
	}
}
