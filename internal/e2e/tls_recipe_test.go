package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// readmeBlock is the ```sh block after "<!-- readme-test: NAME -->" in the
// README.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	marker := "<!-- readme-test: " + name + " -->"
	var body strings.Builder
	state := 0 // 0 before the marker, 1 before the block, 2 in it
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case state == 0 && l == marker:
			state = 1
		case state == 1 && l == "```sh":
			state = 2
		case state == 2 && l == "```":
			return body.String()
		case state == 2:
			body.WriteString(l + "\n")
		}
	}
	t.Fatalf("README has no ```sh block marked %q", marker)
	return ""
}

// runChat runs the chat binary with input and returns its exit status,
// stdout and stderr.
func runChat(t *testing.T, input string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t, "chat"), args...)
	cmd.Stdin = strings.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := runBounded(t, cmd, 30*time.Second)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}

// startChatdWithCert serves TLS on a free loopback port with cert and key
// and returns its TLS port.
func startChatdWithCert(t *testing.T, cert, key string) string {
	t.Helper()
	d := testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("tls:\n  listen: [\"127.0.0.1:0\"]\n  cert_file: %s\n  key_file: %s\n", cert, key)})
	addrs := listenersOf(t, d)["tls"]
	if len(addrs) != 1 {
		t.Fatalf("TLS listeners %v, want one", addrs)
	}
	_, port, _ := net.SplitHostPort(addrs[0])
	return port
}

// The README's recipe for a test certificate makes one that chatd serves
// and chat verifies, by name and by address.
func TestREADMETestCertificateWorksWithChatdAndChat(t *testing.T) {
	openssl := testbin.Tool(t, "openssl")
	dir := t.TempDir()
	recipe := readmeBlock(t, "tls-certificate")
	if !strings.HasPrefix(recipe, "openssl req ") || !strings.Contains(recipe, "subjectAltName=") {
		t.Fatalf("the README's recipe is not an openssl req line with subjectAltName:\n%s", recipe)
	}
	cmd := exec.Command("sh", "-e", "-c", strings.Replace(recipe, "openssl ", openssl+" ", 1))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's recipe failed: %v\n%s\n%s", err, recipe, out)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	port := startChatdWithCert(t, cert, key)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		code, out, errOut := runChat(t, "hello tls\n", "--tls", "--ca", cert, "--addr", host+":"+port)
		if code != 0 || out != "HELLO TLS\n" {
			t.Errorf("chat --tls --ca cert.pem --addr %s:%s: exit %d, stdout %q, stderr %q", host, port, code, out, errOut)
		}
	}
}

// A certificate with its name only in the subject's CN cannot be verified
// under any name: chat says what is wrong with the certificate instead of
// suggesting --server-name, which cannot help.
func TestCNOnlyCertificateSaysWhatToFix(t *testing.T) {
	openssl := testbin.Tool(t, "openssl")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cn.pem"), filepath.Join(dir, "cn.key")
	cmd := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
		"-subj", "/CN=localhost", "-keyout", key, "-out", cert)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	port := startChatdWithCert(t, cert, key)
	for _, args := range [][]string{
		{"--addr", "localhost:" + port},
		{"--addr", "127.0.0.1:" + port, "--server-name", "localhost"},
	} {
		code, _, errOut := runChat(t, "x\n", append([]string{"--tls", "--ca", cert}, args...)...)
		want := "the server's certificate names its host only in the subject's common name (CN=localhost)"
		if code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "subjectAltName") ||
			strings.Contains(errOut, "--server-name") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("chat %v: exit %d, stderr %q; want one line with %q and no --server-name hint", args, code, errOut, want)
		}
	}
}
