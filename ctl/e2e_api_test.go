package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// httpOver is an HTTP client for the chatd's admin socket.
func httpOver(c *testbin.Chatd) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", c.Socket)
		}}}
}

func TestMetricsParseAndCount(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	a, b, gone := dial(t, c), dial(t, c), dial(t, c)
	total := a.say("one") + b.say("two") + gone.say("three")
	ids := idsByAddr(t, c, gone)
	ctlOn(t, c, "kick", fmt.Sprint(ids[0])).mustOK(t)
	testbin.ReadAll(gone.nc, 5*time.Second)
	kickNotice := len("*** kicked by operator: no reason given\n")

	value := func(families map[string]*dto.MetricFamily, name, label string) float64 {
		mf, ok := families[name]
		if !ok {
			t.Fatalf("no metric %s", name)
		}
		for _, m := range mf.GetMetric() {
			if label == "" || len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s{%s}", name, label)
		return 0
	}
	var families map[string]*dto.MetricFamily
	if !testbin.Poll(10*time.Second, func() bool {
		resp, err := httpOver(c).Get("http://chatd/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.LegacyValidation)
		families, err = parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatalf("/metrics does not parse: %v", err)
		}
		return value(families, "chatd_sent_bytes_total", "") == float64(total+kickNotice)
	}) {
		t.Fatalf("sent bytes never reached %d", total+kickNotice)
	}
	for name, want := range map[string]float64{
		"chatd_connections_current":        2,
		"chatd_connections_total":          3,
		"chatd_received_bytes_total":       float64(total),
		"chatd_accept_errors_total":        0,
		"chatd_connections_rejected_total": 0,
	} {
		if got := value(families, name, ""); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := value(families, "chatd_disconnects_total", "kicked"); got != 1 {
		t.Errorf("kicked disconnects %v", got)
	}
}

func TestCurlOverTheSocket(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	c := testbin.StartChatd(t, testbin.Options{})
	ch := dial(t, c)
	ch.say("curl me")
	ids := idsByAddr(t, c, ch)

	out, err := exec.Command(curl, "-sS", "--unix-socket", c.Socket, "http://localhost/v1/clients").Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	var list adminapi.ClientList
	if err := json.Unmarshal(out, &list); err != nil || len(list.Clients) != 1 || list.Clients[0].RemoteAddr != ch.addr() {
		t.Fatalf("curl list: %s (%v)", out, err)
	}
	out, err = exec.Command(curl, "-sS", "--unix-socket", c.Socket, "-X", "DELETE",
		fmt.Sprintf("http://localhost/v1/clients/%d?reason=curl", ids[0]), "-w", " %{http_code}").Output()
	if err != nil || !strings.HasSuffix(string(out), " 200") || !strings.Contains(string(out), `"disconnected":true`) {
		t.Fatalf("curl kick: %s (%v)", out, err)
	}
	if got, _ := testbin.ReadAll(ch.nc, 5*time.Second); string(got) != "*** kicked by operator: curl\n" {
		t.Fatalf("kicked client read %q", got)
	}
	out, _ = exec.Command(curl, "-sS", "--unix-socket", c.Socket, "http://localhost/v1/clients/abc", "-w", " %{http_code}").Output()
	if string(out) != `{"error":"bad client id \"abc\": must be a positive whole number"}`+"\n 400" {
		t.Fatalf("curl bad id: %q", out)
	}
}

// rawExchange writes req on a fresh admin connection and returns what
// comes back until chatd closes it or a second passes in silence.
func rawExchange(t *testing.T, c *testbin.Chatd, req string) string {
	t.Helper()
	nc, err := net.Dial("unix", c.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		return "" // closed on us mid-request: also a refusal
	}
	nc.(*net.UnixConn).CloseWrite()
	b, _ := io.ReadAll(nc)
	return string(b)
}

func statusLine(resp string) string {
	line, _, _ := strings.Cut(resp, "\r\n")
	return line
}

func TestMalformedAdminRequestsDoNotDisturbChat(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	a := dial(t, c)
	a.say("before the barrage")
	ids := idsByAddr(t, c, a)
	id := fmt.Sprint(ids[0])

	// Slow clients that never finish their headers hold no one up.
	for range 8 {
		nc, err := net.Dial("unix", c.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, "GET /v1/clients HTTP/1.1\r\nHost: x\r\n")
	}

	for _, tc := range []struct {
		name, req string
		want      string // status line prefix; "" means a closed connection is fine too
	}{
		{"garbage", "\x00\x01\x02\xffgarbage garbage\r\n\r\n", "HTTP/1.1 400"},
		{"binary noise", strings.Repeat("\xde\xad\xbe\xef", 4096), ""},
		{"huge header", "GET /v1/clients HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", "HTTP/1.1 431"},
		{"huge declared body", "DELETE /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n" + strings.Repeat("x", 4096), "HTTP/1.1 413"},
		{"chunked body", "DELETE /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + strings.Repeat("x", 4096) + "\r\n", "HTTP/1.1 411"},
		{"bad id", "GET /v1/clients/-1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"},
		{"bad id kick", "DELETE /v1/clients/1;rm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"},
		{"wrong method", "PATCH /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 405"},
		{"unknown path", "GET /v1/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 404"},
		{"no host", "GET /v1/clients HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"},
		{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ""},
		{"bad reason", "DELETE /v1/clients/" + id + "?reason=%0Aevil HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"},
	} {
		resp := rawExchange(t, c, tc.req)
		got := statusLine(resp)
		switch {
		case tc.want == "" && (got == "" || strings.HasPrefix(got, "HTTP/1.1 4")):
		case tc.want != "" && strings.HasPrefix(got, tc.want):
		default:
			t.Errorf("%s: answered %q, want %q", tc.name, got, tc.want)
		}
		if strings.Contains(tc.name, "id") || tc.name == "wrong method" || tc.name == "unknown path" || tc.name == "bad reason" {
			if _, body, _ := strings.Cut(resp, "\r\n\r\n"); !json.Valid([]byte(body)) || !strings.Contains(body, `"error"`) {
				t.Errorf("%s: body is not a JSON error: %q", tc.name, body)
			}
		}
	}

	// Nothing above kicked anyone, and chat and the API carry on.
	a.say("after the barrage")
	dial(t, c).say("newcomer")
	if list := listJSON(t, c); len(list) < 1 || list[0].ID != ids[0] {
		t.Fatalf("client %s is gone: %+v", id, list)
	}
	ctlOn(t, c, "status").mustOK(t)
	if c.Exited() {
		t.Fatal("chatd exited")
	}
}

// A request that keeps a connection alive answers again on it: chatctl's
// transport and curl rely on ordinary HTTP/1.1 keep-alive.
func TestKeepAliveServesSeveralRequests(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	nc, err := net.Dial("unix", c.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	for _, path := range []string{"/v1/status", "/v1/clients", "/metrics"} {
		fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: chatd\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}
