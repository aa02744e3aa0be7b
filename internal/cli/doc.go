// Package cli builds the cobra commands of the four krx programs (rlogin,
// rsh, rcp, rlogind). The mains under cmd/ only call these constructors, so
// the man-page generator (internal/cli/genman) and tests can reach the same
// command trees.
package cli
