//go:build !purego

package cfbstream

const puregoBuild = false
