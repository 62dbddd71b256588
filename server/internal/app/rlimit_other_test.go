//go:build !unix

package app_test

import "errors"

// raiseNoFile: open-file limits are a Unix notion; the slow-body test needs
// one it can raise to 20,000 and fails with this error elsewhere.
func raiseNoFile() (uint64, error) {
	return 0, errors.New("raising the open-file limit is not supported on this platform")
}
