package service

import (
	"strconv"
	"strings"
)

// systemdTemplate is chatd's unit, in kardianos' template syntax
// ({{Key}}, no dot). kardianos fills in Description, Name, Path,
// Arguments, UserName, Restart, LimitNOFILE and EnvVars; the @GROUP@ and
// @CAPABILITIES@ lines are chatd's own and are filled in by systemdUnit
// before kardianos sees the template.
//
// Restart behaviour: any exit, crash or kill -9 is followed by a start one
// second later. The start limit (30 starts in 60 s) only stops a tight
// crash loop; a few kills in a row never lock the service out. Exit
// status 2 is a bad configuration, which restarting cannot fix.
//
// Restart survival: FileDescriptorStoreMax= lets chatd keep its listener
// and its clients' connections in systemd's descriptor store, so that a
// crash, a restart or an upgrade does not disconnect anyone (see package
// fdstore); a stop flushes the store.
//
// Hardening: chatd needs a TCP listener, its Unix admin socket in
// /run/chatd, its state in /var/lib/chatd and to read its config; it gets
// exactly that. /proc stays visible (ProtectProc is not used) because the
// admin API reads a peer's groups from /proc/PID/status.
const systemdTemplate = `[Unit]
Description={{Description}}
After=network.target
ConditionFileIsExecutable={{Path | cmdEscape}}
StartLimitIntervalSec=60
StartLimitBurst=30
{{range Dependencies}}{{.}}
{{end}}
[Service]
Type=notify
NotifyAccess=main
ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}
ExecReload=/bin/kill -HUP $MAINPID
Restart={{Restart}}
RestartSec=1
RestartPreventExitStatus=2
TimeoutStopSec=30
{{if UserName}}User={{UserName}}
{{end}}@GROUP@
RuntimeDirectory={{Name}}
RuntimeDirectoryMode=0750
StateDirectory={{Name}}
StateDirectoryMode=0750
UMask=0027
LimitNOFILE={{LimitNOFILE}}
@FDSTORE@
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
@CAPABILITIES@
{{range EnvVars}}{{.}}
{{end}}
[Install]
WantedBy=multi-user.target
`

// systemdUnit returns the unit template for o, ready for kardianos.
func systemdUnit(o Options) string {
	group := ""
	if o.Group != "" {
		group = "Group=" + o.Group
	}
	caps := "CapabilityBoundingSet=\nAmbientCapabilities="
	if o.BindLowPort {
		caps = "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE"
	}
	fdstore := ""
	if storeMax, _ := o.storeLimits(); storeMax > 0 {
		fdstore = "FileDescriptorStoreMax=" + strconv.Itoa(storeMax)
	}
	r := strings.NewReplacer("@GROUP@\n", lineOrNothing(group), "@CAPABILITIES@", caps, "@FDSTORE@", lineOrNothing(fdstore))
	return r.Replace(systemdTemplate)
}

func lineOrNothing(s string) string {
	if s == "" {
		return ""
	}
	return s + "\n"
}
