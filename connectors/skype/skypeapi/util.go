package skypeapi

import (
	"encoding/json"

	"github.com/imbridge/imbridge/connectors/chatsvc"
)

// errorBody reads {"errorCode":..,"message":..}, {"status":{"code","text"}}
// or application/problem+json.
func errorBody(data []byte) (code, msg string) {
	var b struct {
		ErrorCode chatsvc.FlexString `json:"errorCode"`
		Message   string             `json:"message"`
		Title     string             `json:"title"`
		Status    json.RawMessage    `json:"status"`
	}
	if json.Unmarshal(data, &b) != nil {
		return "", ""
	}
	code, msg = string(b.ErrorCode), b.Message
	if msg == "" {
		msg = b.Title
	}
	var st struct {
		Code chatsvc.FlexString `json:"code"`
		Text string             `json:"text"`
	}
	if len(b.Status) > 0 && b.Status[0] == '{' && json.Unmarshal(b.Status, &st) == nil {
		if code == "" {
			code = string(st.Code)
		}
		if msg == "" {
			msg = st.Text
		}
	}
	return code, msg
}
