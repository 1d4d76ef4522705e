// Command chat is the client for chatd: it connects to a chatd server, sends
// what you type and prints the server's UPPERCASE answers and notices the
// moment they arrive. See `chat --help`; the logic is in
// internal/chatclient.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
