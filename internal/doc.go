// Package internal groups the packages the krx binaries share; each
// sub-package owns one concern (session relay, pty, privsep, rcp engine...).
package internal
