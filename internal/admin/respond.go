package admin

import (
	"encoding/json"
	"net/http"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// writeJSON sends v as the JSON body of a response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own API types are encoded here; they always marshal.
		status, body = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	startJSON(w, status)
	w.Write(append(body, '\n'))
}

// startJSON writes the headers of a JSON answer that must not be cached.
func startJSON(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// writeError sends {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, adminapi.Error{Error: msg})
}
