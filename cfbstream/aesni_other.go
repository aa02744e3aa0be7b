//go:build !amd64 || purego

package cfbstream

// haveAESNI is false: the AES-NI path exists only on amd64 without the
// purego build tag, so useAESNI never selects it and the functions below
// are never called.
const haveAESNI = false

const errNoAESNI = "cfbstream: internal error: AES-NI path used on a build without it"

func aesniEncryptBlock(rk *[aesScheduleLen]byte, rounds int, dst, src *[16]byte) { panic(errNoAESNI) }

func aesniEncCFB64(rk *[aesScheduleLen]byte, rounds int, reg *[16]byte, dst, src *byte, segs int) {
	panic(errNoAESNI)
}

func aesniDecCFB64(rk *[aesScheduleLen]byte, rounds int, reg *[16]byte, dst, src *byte, segs int) {
	panic(errNoAESNI)
}
