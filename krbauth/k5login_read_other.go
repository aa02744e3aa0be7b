//go:build !linux

package krbauth

import "errors"

// k5loginRead is only implemented for Linux, where the file can be read
// with the user's file-system identity; elsewhere an existing or not
// .k5login cannot be told apart safely, so every login is refused.
func k5loginRead(path string, u LocalUser, max int64) ([]byte, string, error) {
	return nil, "reading .k5login is only supported on Linux", errors.ErrUnsupported
}
