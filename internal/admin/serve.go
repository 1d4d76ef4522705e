package admin

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// route is one endpoint. A pattern ending in "/{id}" matches one more
// path segment, given to the handler as r.PathValue("id").
type route struct {
	method, pattern string
	handler         http.HandlerFunc
}

// routes is the API's handler table.
func (s *Server) routes() []route {
	return []route{
		{"GET", adminapi.PathClients, s.listClients},
		{"GET", adminapi.PathClients + "/{id}", s.getClient},
		{"DELETE", adminapi.PathClients + "/{id}", s.kickClient},
		{"POST", adminapi.PathKick, s.kickMany},
		{"GET", adminapi.PathStatus, s.status},
		{"POST", adminapi.PathReload, s.reload},
		{"POST", adminapi.PathRestart, s.restart},
		{"GET", adminapi.PathRestart, s.restartState},
		{"GET", adminapi.PathMetrics, s.metrics.ServeHTTP},
	}
}

// Handler is the whole API with its protections.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP is every request's one preamble, in the order a request meets
// it: a connection closed to make room gets nothing done; the caller's
// credentials (403 before anything else, even routing); the body's size;
// then the handler table. Every answer, errors included, is JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if evicted(r.Context()) {
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if !bodyAcceptable(w, r) {
		return
	}
	if r.RequestURI == "*" {
		writeError(w, http.StatusBadRequest, "request target * is not an endpoint")
		return
	}
	// Paths must be canonical: an API has no business redirecting its
	// callers from /v1/../x or //v1/status elsewhere.
	p := r.URL.Path
	if p == "" || path.Clean(p) != p {
		writeError(w, http.StatusNotFound, "no such endpoint: "+p)
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet // net/http drops the body
	}
	var allow []string
	for _, rt := range s.table {
		id, ok := match(rt.pattern, p)
		if !ok {
			continue
		}
		if rt.method != method {
			allow = append(allow, rt.method)
			continue
		}
		if id != "" {
			r.SetPathValue("id", id)
		}
		rt.handler(w, r)
		return
	}
	if allow == nil {
		writeError(w, http.StatusNotFound, "no such endpoint: "+p)
		return
	}
	if slices.Contains(allow, http.MethodGet) {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	list := strings.Join(allow, ", ")
	w.Header().Set("Allow", list)
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+p+" (allowed: "+list+")")
}

// match reports whether p matches pattern, and the {id} segment if any.
func match(pattern, p string) (id string, ok bool) {
	prefix, hasID := strings.CutSuffix(pattern, "{id}")
	if !hasID {
		return "", p == pattern
	}
	id, ok = strings.CutPrefix(p, prefix)
	return id, ok && id != "" && !strings.Contains(id, "/")
}

// authorized answers 403 to a peer the policy does not allow, and closes
// its connection: nothing else will be allowed on it either, so it must
// not hold one of the admin API's places.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	who := peerOf(r.Context())
	if who.err != nil {
		s.log.Warn("admin request refused: cannot identify the caller", "err", who.err.Error())
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusForbidden, "permission denied: chatd cannot identify the caller")
		return false
	}
	ok, err := s.policy.allows(who.cred)
	if err != nil {
		s.log.Debug("admin group membership unknown", "uid", who.cred.UID, "pid", who.cred.PID, "err", err.Error())
	}
	if !ok {
		s.log.Warn("admin request refused", "uid", who.cred.UID, "pid", who.cred.PID, "method", r.Method, "path", r.URL.Path)
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusForbidden, s.policy.denyUsage)
	}
	return ok
}

// bodyAcceptable refuses bodies of undeclared length (411) and larger
// than the endpoint takes (413), closing the connection rather than
// draining it: only the bulk kick reads a body, and one that streams on
// must not reach a handler that acts while net/http drains it.
func bodyAcceptable(w http.ResponseWriter, r *http.Request) bool {
	limit := int64(maxBodyBytes)
	if r.URL.Path == adminapi.PathKick {
		limit = adminapi.MaxBulkKickBytes
	}
	switch {
	case r.ContentLength < 0:
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusLengthRequired, "request bodies must declare their length")
		return false
	case r.ContentLength > limit:
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body too large (%d bytes; at most %d here)", r.ContentLength, limit))
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return true
}
