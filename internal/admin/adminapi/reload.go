package adminapi

import "time"

// PathReload is where POST asks chatd to re-read its configuration, like
// SIGHUP.
const PathReload = "/v1/reload"

// ReloadResult is the answer to POST /v1/reload. An invalid configuration
// is an error answer (422) instead, and the running configuration stays.
type ReloadResult struct {
	// Applied lists the config keys whose new values are now in force.
	Applied []string `json:"applied"`
	// NeedRestart lists the keys that changed in the file but take effect
	// only when chatd restarts; their running values stay.
	NeedRestart []string `json:"need_restart"`
	// ConfigFile is the file that was read ("" for built-in defaults).
	ConfigFile string `json:"config_file"`
	// Origin says where the values in force come from: the file, the
	// CHATD_* variables and flags that set something, or the defaults.
	Origin string `json:"origin"`
	// TLSCertificate says what a reload did with the TLS certificate,
	// which every reload reads again (absent without a TLS listener): a
	// renewal changes no setting, yet something was reloaded.
	TLSCertificate *TLSCertificateReload `json:"tls_certificate,omitempty"`
}

// TLSCertificateReload is the certificate a reload loaded.
type TLSCertificateReload struct {
	CertFile string    `json:"cert_file"`
	NotAfter time.Time `json:"not_after"`
	// Renewed is true when it is another certificate than the one before.
	Renewed bool `json:"renewed"`
}
