// Package adminclient talks to chatd's admin API over its Unix socket. It
// is what chatctl uses, and it turns every failure into one line an
// operator can act on: the daemon is not running, the caller lacks
// permission, a client is not connected.
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/cliutil"
)

// DefaultTimeout bounds one request, including a kick's wait for the
// client to go.
const DefaultTimeout = 15 * time.Second

// Client is a connection to one chatd's admin socket.
type Client struct {
	// Group is chatd's admin.group, when the caller knows it, for the
	// message that says who may use the socket; GroupKnown says that
	// Group is what the configuration says, even when that is nothing.
	Group      string
	GroupKnown bool
	// OwnDefault says that the socket is the caller's own default one
	// (in $XDG_RUNTIME_DIR or /tmp/chatd-UID), which must belong to the
	// caller or root whoever else could have put it there.
	OwnDefault bool

	socket     string
	viaCommand bool // made by NewCommand: socket is the command's name
	dial       func(context.Context) (net.Conn, error)
	http       *http.Client
	budget     *ListBudget // nil: no budget shared with other hosts
}

// New returns a client for the admin socket at path. It does not connect
// until the first request.
func New(path string) *Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	var c *Client
	c = newClient(path, func(ctx context.Context) (net.Conn, error) {
		return c.dialTrusted(ctx, dialer)
	})
	return c
}

// newClient returns a client whose connections come from dial; socket
// names where they lead, for messages.
func newClient(socket string, dial func(context.Context) (net.Conn, error)) *Client {
	return &Client{
		socket: socket,
		dial:   dial,
		http: &http.Client{
			Timeout: DefaultTimeout,
			Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return dial(ctx)
				},
				MaxIdleConns:    1,
				IdleConnTimeout: 30 * time.Second,
			},
		},
	}
}

// Socket is the path the client connects to (for a client made by
// NewCommand, the name given there).
func (c *Client) Socket() string { return c.socket }

// Dial opens a raw connection to the admin socket, with the failure
// explained as a request's would be. It is what `chatctl dial-stdio`
// joins to its stdin and stdout.
func (c *Client) Dial(ctx context.Context) (net.Conn, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, c.transportError(err)
	}
	return conn, nil
}

// Close closes the idle connection the client keeps, which for a client
// made by NewCommand ends its command.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Clients lists the connected clients, sorted by ID.
func (c *Client) Clients(ctx context.Context) ([]adminapi.Client, error) {
	list, err := c.ListClients(ctx, adminapi.ClientQuery{})
	return list.Clients, err
}

// ListClients lists the clients q selects, in q's order, with the number
// connected in all.
func (c *Client) ListClients(ctx context.Context, q adminapi.ClientQuery) (adminapi.ClientList, error) {
	var list adminapi.ClientList
	total, err := c.EachClient(ctx, q, func(cl adminapi.Client) error {
		list.Clients = append(list.Clients, cl)
		return nil
	})
	list.Total = total
	return list, err
}

// EachClient calls each for every client q selects, as the answer
// arrives, and returns how many are connected in all. A listing of a
// full server is megabytes: read this way, it is never held whole, as
// text or as a document. An error from each ends the listing.
func (c *Client) EachClient(ctx context.Context, q adminapi.ClientQuery, each func(adminapi.Client) error) (total int, err error) {
	return c.eachClient(ctx, q, func(dec *json.Decoder) error {
		var cl adminapi.Client
		if err := dec.Decode(&cl); err != nil {
			return err // the answer's fault
		}
		// A listing is held whole for a table: no field may be larger
		// than a real one.
		if len(cl.RemoteAddr) > maxAddrLen || len(cl.LocalAddr) > maxAddrLen {
			return &TooLargeError{What: fmt.Sprintf("a client address of more than %d bytes", maxAddrLen)}
		}
		if err := each(cl); err != nil {
			return &callbackError{err}
		}
		return nil
	})
}

// EachClientJSON is EachClient with each client's JSON as chatd sent it,
// for a caller that prints it: no decoding and encoding again.
func (c *Client) EachClientJSON(ctx context.Context, q adminapi.ClientQuery, each func(json.RawMessage) error) (total int, err error) {
	return c.eachClient(ctx, q, func(dec *json.Decoder) error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err // the answer's fault
		}
		if err := each(raw); err != nil {
			return &callbackError{err}
		}
		return nil
	})
}

// eachClient lists the clients, each read from dec by decodeOne; an error
// from it that is not a *callbackError is the answer's fault. What it
// reads is bounded as a real chatd's answer is (see listBound): so many
// clients, each of so many bytes.
func (c *Client) eachClient(ctx context.Context, q adminapi.ClientQuery, decodeOne func(*json.Decoder) error) (total int, err error) {
	path := adminapi.PathClients
	if v := q.Values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	bound, why := c.listBound(ctx, q.Limit)
	err = c.exchange(ctx, http.MethodGet, path, nil, -1, func(body io.Reader) error {
		win := &windowReader{r: body, window: maxClientJSON, what: "an entry of the client list"}
		dec := json.NewDecoder(win)
		win.offset = dec.InputOffset
		n := 0
		var err error
		total, err = decodeClientList(dec, func(dec *json.Decoder) error {
			if n++; n > bound {
				return &TooLargeError{What: fmt.Sprintf("more than %d clients, more than %s allows", bound, why)}
			}
			if !c.budget.take() {
				return &TooLargeError{What: fmt.Sprintf("more clients than the %d chatctl lists from all hosts at once (ask fewer hosts, or use --limit)", c.budget.size)}
			}
			return decodeOne(dec)
		})
		return err
	})
	return total, err
}

// decodeClientList reads {"clients":[...],"total":N} a client at a time.
// Members it does not know are skipped, as json.Unmarshal would.
func decodeClientList(dec *json.Decoder, decodeOne func(*json.Decoder) error) (total int, err error) {
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0, err
		}
		switch key {
		case "clients":
			if err := expectDelim(dec, '['); err != nil {
				return 0, err
			}
			for dec.More() {
				if err := decodeOne(dec); err != nil {
					return 0, err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return 0, err
			}
		case "total":
			if err := dec.Decode(&total); err != nil {
				return 0, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return 0, err
			}
		}
	}
	return total, expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("found %v where %v was expected", tok, want)
	}
	return nil
}

// callbackError carries an error of the caller's callback through the
// decoding, so that it is returned as it is rather than as an answer
// chatctl cannot read.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// Client returns one connected client; a *NotConnectedError if there is
// none with that ID.
func (c *Client) Client(ctx context.Context, id uint64) (adminapi.Client, error) {
	var cl adminapi.Client
	err := c.do(ctx, http.MethodGet, adminapi.ClientPath(id), &cl)
	return cl, notConnected(err, id)
}

// Kick disconnects a client, which is told reason (may be empty); a
// *NotConnectedError if there is no client with that ID.
func (c *Client) Kick(ctx context.Context, id uint64, reason string) (adminapi.KickResult, error) {
	path := adminapi.ClientPath(id)
	if reason != "" {
		path += "?" + url.Values{"reason": {reason}}.Encode()
	}
	var res adminapi.KickResult
	err := c.do(ctx, http.MethodDelete, path, &res)
	return res, notConnected(err, id)
}

// KickMany kicks every client (req.All) or the listed ones in one request;
// chatd closes them concurrently and answers with each one's result.
func (c *Client) KickMany(ctx context.Context, req adminapi.BulkKick) (adminapi.BulkKickResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return adminapi.BulkKickResult{}, fmt.Errorf("encode bulk kick: %w", err)
	}
	// One outcome per client kicked: as many as were asked for, or (all)
	// as many as can be connected.
	n := len(req.IDs)
	if req.All {
		n, _ = c.listBound(ctx, 0)
	}
	var res adminapi.BulkKickResult
	err = c.exchange(ctx, http.MethodPost, adminapi.PathKick, body, int64(n)*maxKickOutcomeJSON+maxSmallAnswer, func(answer io.Reader) error {
		return json.NewDecoder(answer).Decode(&res)
	})
	return res, err
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (adminapi.Status, error) {
	var st adminapi.Status
	err := c.do(ctx, http.MethodGet, adminapi.PathStatus, &st)
	return st, err
}

// do sends a request and decodes a 2xx answer's JSON into out.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	return c.send(ctx, method, path, nil, out)
}

// send is do with a JSON request body (nil for none).
func (c *Client) send(ctx context.Context, method, path string, body []byte, out any) error {
	return c.exchange(ctx, method, path, body, maxSmallAnswer, func(answer io.Reader) error {
		return json.NewDecoder(answer).Decode(out)
	})
}

// exchange sends a request and hands a 2xx answer's JSON body to read,
// at most limit bytes of it (-1: read bounds what it reads itself).
func (c *Client) exchange(ctx context.Context, method, path string, body []byte, limit int64, read func(io.Reader) error) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://chatd"+path, rd)
	if err != nil {
		return fmt.Errorf("admin request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	// Every answer of chatd's admin API, errors included, is JSON: an
	// answer that is not comes from some other program on the socket.
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		what := fmt.Sprintf("it answered %s", resp.Status)
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			what += " with " + ct
		}
		return &NotAdminAPIError{Socket: c.socket, What: cliutil.Printable(what)}
	}
	if resp.StatusCode/100 != 2 {
		answer, err := io.ReadAll(io.LimitReader(resp.Body, maxSmallAnswer))
		if err != nil {
			return c.transportError(err)
		}
		return apiError(resp.StatusCode, answer)
	}
	var answer io.Reader = resp.Body
	if limit >= 0 {
		answer = &capReader{r: resp.Body, left: limit}
	}
	if err := read(answer); err != nil {
		var cbErr *callbackError
		if errors.As(err, &cbErr) {
			return cbErr.err
		}
		if tl, ok := tooLarge(err); ok {
			return fmt.Errorf("chatd%s sent %s; chatctl stopped reading it", c.at(), tl.What)
		}
		if isTransportError(err) {
			return c.transportError(err)
		}
		return fmt.Errorf("chatd%s sent an answer chatctl cannot read; are chatd and chatctl the same version?", c.at())
	}
	return nil
}

// NotAdminAPIError says that the program on the socket is not chatd's
// admin API.
type NotAdminAPIError struct {
	Socket string
	What   string // what it did instead: "it did not answer in HTTP"
}

func (e *NotAdminAPIError) Error() string {
	return fmt.Sprintf("the program at %s does not speak chatd's admin API (%s); is --socket right?", e.Socket, e.What)
}

// APIError is an error answer from chatd.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// NotConnectedError says that no client with the ID is connected.
type NotConnectedError struct{ ID uint64 }

func (e *NotConnectedError) Error() string {
	return fmt.Sprintf("client %d is not connected", e.ID)
}

// PermissionError says that the caller may not use the admin API.
type PermissionError struct{ Message string }

func (e *PermissionError) Error() string { return e.Message }

func apiError(status int, body []byte) error {
	var e adminapi.Error
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("chatd answered %d %s", status, http.StatusText(status))
	}
	// The message goes to the operator's terminal as it is.
	e.Error = cliutil.Printable(e.Error)
	if status == http.StatusForbidden {
		return &PermissionError{Message: e.Error}
	}
	return &APIError{Status: status, Message: e.Error}
}

// notConnected turns a 404 for a client's path into a *NotConnectedError.
func notConnected(err error, id uint64) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return &NotConnectedError{ID: id}
	}
	return err
}
