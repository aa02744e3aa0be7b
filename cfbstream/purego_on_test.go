//go:build purego

package cfbstream

// puregoBuild: the Go FIPS 140 module refuses to start under the purego
// build tag, so TestFIPSOnly cannot run.
const puregoBuild = true
