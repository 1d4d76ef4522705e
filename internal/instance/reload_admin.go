package instance

import "github.com/chatd/chatd/internal/admin/adminapi"

// adminReload is Reload for the admin API's POST /v1/reload.
func (d *Instance) adminReload() (adminapi.ReloadResult, error) {
	res, err := d.Reload()
	if err != nil {
		return adminapi.ReloadResult{}, err
	}
	cfg := d.Config()
	out := adminapi.ReloadResult{
		Applied:     res.Applied,
		NeedRestart: res.NeedRestart,
		ConfigFile:  cfg.File,
		Origin:      cfg.Origin,
	}
	if res.TLS != nil {
		out.TLSCertificate = &adminapi.TLSCertificateReload{
			CertFile: res.TLS.CertFile, NotAfter: res.TLS.NotAfter.UTC(), Renewed: res.TLS.Renewed,
		}
	}
	return out, nil
}
