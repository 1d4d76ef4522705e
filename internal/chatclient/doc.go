// Package chatclient is the logic behind the chat command: a full-duplex
// client for a chatd server.
//
// Run connects to the server and then runs two directions at once: one
// goroutine prints whatever the server sends the moment it arrives (answers,
// greetings, "*** " notices), the other sends what the user types. With a
// terminal (Options.Interactive) input is read through a line editor with a
// prompt and history (golang.org/x/term's Terminal), and server output is
// written through it so the prompt is redrawn around it; otherwise input is
// copied to the server byte for byte and the server's raw bytes go to Stdout.
//
// Run reports how the session ended as a process exit code (see the Exit
// constants) and explains any failure in one line on Stderr, so the command
// in client/ only has to parse flags and call it. Everything is driven
// through Options, so tests run it with pipes against an in-process server
// (see the chatdtest package).
package chatclient
