package admin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// writeJSON sends v as the JSON body of a response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own API types are encoded here; they always marshal.
		status, body = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeError sends {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, adminapi.Error{Error: msg})
}

// jsonErrors makes the error answers net/http writes itself (the mux's
// 404 and 405 in plain text, its bodiless 400 for a request target of
// "*", an oversized body) JSON like every other answer of the API: any
// error that is not JSON already is replaced. The handlers write JSON.
func jsonErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&errorRewriter{ResponseWriter: w, r: r}, r)
	})
}

type errorRewriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (e *errorRewriter) WriteHeader(status int) {
	h := e.Header()
	if status < 400 || h.Get("Content-Type") == "application/json" {
		e.ResponseWriter.WriteHeader(status)
		return
	}
	e.replaced = true
	h.Del("X-Content-Type-Options")
	writeError(e.ResponseWriter, status, plainErrorMessage(status, e.r, h.Get("Allow")))
}

func (e *errorRewriter) Write(b []byte) (int, error) {
	if e.replaced {
		return len(b), nil // the plain-text body that came with the status
	}
	return e.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (e *errorRewriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

func plainErrorMessage(status int, r *http.Request, allow string) string {
	switch status {
	case http.StatusNotFound:
		return "no such endpoint: " + r.URL.Path
	case http.StatusBadRequest:
		if r.RequestURI == "*" {
			return "request target * is not an endpoint"
		}
	case http.StatusMethodNotAllowed:
		return "method " + r.Method + " is not allowed on " + r.URL.Path + " (allowed: " + allow + ")"
	}
	return strings.ToLower(http.StatusText(status))
}
