package service

// launchdPlist is chatd's launchd daemon, in kardianos' template syntax.
// kardianos fills in Name, Path, Arguments, UserName, RunAtLoad and
// KeepAlive (both true), the log paths (LogDirectory/chatd.out.log and
// chatd.err.log: chatd logs to stderr) and EnvVars. launchd starts it at
// boot and again one second after any exit; the admin socket lives where
// the config's admin.socket says (/var/run/chatd/admin.sock as installed
// by install.sh), a directory chatd creates at start.
const launchdPlist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{{Name | html}}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{{Path | html}}</string>
{{range Arguments}}		<string>{{. | html}}</string>
{{end}}	</array>
	{{if UserName}}<key>UserName</key>
	<string>{{UserName | html}}</string>
	{{end}}<key>RunAtLoad</key>
	<{{RunAtLoad}}/>
	<key>KeepAlive</key>
	<{{KeepAlive}}/>
	<key>ThrottleInterval</key>
	<integer>1</integer>
	<key>SoftResourceLimits</key>
	<dict>
		<key>NumberOfFiles</key>
		<integer>65536</integer>
	</dict>
	<key>HardResourceLimits</key>
	<dict>
		<key>NumberOfFiles</key>
		<integer>65536</integer>
	</dict>
	<key>StandardOutPath</key>
	<string>{{StandardOutPath | html}}</string>
	<key>StandardErrorPath</key>
	<string>{{StandardErrorPath | html}}</string>
	{{if EnvVars}}<key>EnvironmentVariables</key>
	<dict>
{{range EnvVars}}{{.}}
{{end}}	</dict>
	{{end}}</dict>
</plist>
`
