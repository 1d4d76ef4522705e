package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/cliutil"
)

func newReloadCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make chatd re-read its configuration file (like SIGHUP)",
		Long: `Make chatd re-read its configuration, as SIGHUP and 'systemctl reload chatd'
do. log.level, max_clients, the timeouts, the greeting and the notices take
effect at once; connected clients are not disturbed. listen, admin.* and
state_dir are only read at start: changes to them are listed as needing a
restart. A configuration chatd rejects changes nothing: the reason is
printed and the exit status is 1.`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "text", "json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		t, err := a.oneTarget("reload")
		if err != nil {
			return err
		}
		defer t.client.Close()
		res, err := t.client.Reload(cmd.Context())
		var ae *adminclient.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity {
			return t.explain(fmt.Errorf("reload rejected: %s", ae.Message))
		}
		if err != nil {
			return t.explain(err)
		}
		if out.value == "json" {
			return printJSON(cmd.OutOrStdout(), res)
		}
		return printReload(cmd.OutOrStdout(), res)
	}
	return cmd
}

func printReload(w io.Writer, res adminapi.ReloadResult) error {
	file := cliutil.Printable(res.Origin)
	if file == "" { // a chatd from before origin was reported
		file = cliutil.Printable(res.ConfigFile)
	}
	var b strings.Builder
	switch {
	case len(res.Applied) == 0 && res.TLSCertificate != nil:
		fmt.Fprintf(&b, "configuration reloaded from %s: no setting changed\n", file)
	case len(res.Applied) == 0:
		fmt.Fprintf(&b, "configuration reloaded from %s: nothing changed\n", file)
	default:
		fmt.Fprintf(&b, "configuration reloaded from %s: applied %s\n", file, cliutil.Printable(strings.Join(res.Applied, ", ")))
	}
	if c := res.TLSCertificate; c != nil {
		what := "the same certificate as before"
		if c.Renewed {
			what = "a new certificate"
		}
		fmt.Fprintf(&b, "TLS certificate reloaded from %s: %s, valid until %s\n",
			cliutil.Printable(c.CertFile), what, c.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(res.NeedRestart) > 0 {
		fmt.Fprintf(&b, "changed but applied only at the next restart: %s\n", cliutil.Printable(strings.Join(res.NeedRestart, ", ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
