package adminclient

import (
	"context"
	"net/http"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// Reload asks chatd to re-read its configuration. A configuration chatd
// rejects comes back as an *APIError (status 422) saying why.
func (c *Client) Reload(ctx context.Context) (adminapi.ReloadResult, error) {
	var res adminapi.ReloadResult
	err := c.do(ctx, http.MethodPost, adminapi.PathReload, &res)
	return res, err
}

// Restart asks chatd for a planned restart; it returns once chatd has
// begun it.
func (c *Client) Restart(ctx context.Context) (adminapi.RestartResult, error) {
	var res adminapi.RestartResult
	err := c.do(ctx, http.MethodPost, adminapi.PathRestart, &res)
	return res, err
}

// RestartState asks which image of chatd answers and how its restarts
// fared.
func (c *Client) RestartState(ctx context.Context) (adminapi.RestartState, error) {
	var res adminapi.RestartState
	err := c.do(ctx, http.MethodGet, adminapi.PathRestart, &res)
	return res, err
}
