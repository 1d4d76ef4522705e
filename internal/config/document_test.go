package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// What YAML writes, FromDocument reads back to the same values.
func TestFromDocumentRoundTrip(t *testing.T) {
	cfg := Defaults()
	cfg.MaxClients = 77
	cfg.IdleTimeout = 90 * time.Second
	cfg.Greeting = "* hello {id}"
	cfg.SurviveRestarts = false
	cfg.Admin.Mode = "0640"
	doc, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromDocument(doc, "test")
	if err != nil {
		t.Fatalf("FromDocument: %v\n%s", err, doc)
	}
	got.Origin, cfg.Origin = "", ""
	if !reflect.DeepEqual(*got, cfg) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", *got, cfg)
	}
}

func TestFromDocumentRefusesBadInput(t *testing.T) {
	for _, doc := range []string{"max_clients: [", "max_clients: 0\n", "no_such_key: 1\n"} {
		if _, err := FromDocument([]byte(doc), "handed-over config"); err == nil || !strings.Contains(err.Error(), "handed-over config") {
			t.Errorf("%q: err %v", doc, err)
		}
	}
}

// A config a chatd already ran on may hold a key that a newer chatd
// refuses because it does nothing there; as the last good config it must
// still load, or an upgrade onto a broken file would end in an outage.
func TestLastGoodConfigMayHoldAKeyThatDoesNothing(t *testing.T) {
	doc := []byte("listen: [\"127.0.0.1:0\"]\nproxy_protocol:\n  enabled: false\n  trusted: [\"10.0.0.1\"]\n")
	if _, err := FromKept(doc, nil, "kept"); err != nil {
		t.Fatalf("FromKept refused the last good config: %v", err)
	}
	if _, err := loadFile(t, filepath.Join(t.TempDir(), "chatd.yaml"), string(doc)); err == nil || !strings.Contains(err.Error(), "does nothing") {
		t.Fatalf("a file with the same key: got %v, want the does-nothing refusal", err)
	}
}
