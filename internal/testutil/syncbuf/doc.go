// Package syncbuf holds Buffer, a bytes.Buffer that a process or goroutine
// writes while a test reads it: a child's stderr, a daemon's log, or what a
// pty master shows. It replaces the mutex-guarded buffer each test package
// used to define for itself. It is imported by tests only and imports only
// the standard library, so any package's tests — public ones such as oob
// included — can use it without an import cycle.
package syncbuf
