package krbauth

import (
	"crypto/md5"
	"crypto/subtle"
	"fmt"
	"strconv"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Checksum constants (RFC 3961 §6.1.3 rsa-md5; RFC 4120 §7.5.1 key usage).
const (
	cksumTypeRSAMD5 = 7  // rsa-md5, unkeyed
	usageAPReqCksum = 10 // AP-REQ authenticator checksum
	usageAPReqAuth  = 11 // AP-REQ authenticator
	usageAPRepPart  = 12 // AP-REP encrypted part
	usageTicket     = 2  // ticket encrypted part
)

// ChecksumKind selects the authenticator checksum a client sends.
type ChecksumKind int

const (
	// ChecksumRSAMD5 is unkeyed RSA-MD5 (type 7), what MIT kcmd asks for and
	// every legacy server accepts (PROTOCOL.md §2.3). The default.
	ChecksumRSAMD5 ChecksumKind = iota
	// ChecksumKeyed is the session key enctype's mandatory keyed checksum,
	// keyed with the session key, key usage 10 (what MIT ≥ 1.18 sends).
	ChecksumKeyed
)

// ChecksumPolicy is the server's authenticator-checksum rule (APPL
// klogind.M / kshd.M: default, -c, -i).
type ChecksumPolicy int

const (
	// ChecksumVerifyIfPresent verifies a checksum when the client sent one
	// and accepts a request without one (MIT default).
	ChecksumVerifyIfPresent ChecksumPolicy = iota
	// ChecksumRequire refuses a request without a valid checksum (-c).
	ChecksumRequire
	// ChecksumIgnore does not look at the checksum (-i).
	ChecksumIgnore
)

// KcmdChecksumData is the data the kcmd authenticator checksum covers:
// "<server port>:<term/speed or command><server-user>" (APPL kcmd.c).
func KcmdChecksumData(serverPort int, payload, serverUser string) []byte {
	return []byte(strconv.Itoa(serverPort) + ":" + payload + serverUser)
}

// makeChecksum computes the authenticator checksum over data.
func makeChecksum(kind ChecksumKind, session Key, data []byte) (types.Checksum, error) {
	switch kind {
	case ChecksumRSAMD5:
		sum := md5.Sum(data)
		return types.Checksum{CksumType: cksumTypeRSAMD5, Checksum: sum[:]}, nil
	case ChecksumKeyed:
		et, err := session.EType()
		if err != nil {
			return types.Checksum{}, err
		}
		sum, err := et.GetChecksumHash(session.Value, data, usageAPReqCksum)
		if err != nil {
			return types.Checksum{}, fmt.Errorf("krbauth: keyed checksum: %w", err)
		}
		return types.Checksum{CksumType: et.GetHashID(), Checksum: sum}, nil
	}
	return types.Checksum{}, fmt.Errorf("krbauth: unknown checksum kind %d", kind)
}

// verifyChecksum checks an authenticator checksum against data: unkeyed
// RSA-MD5 (constant-time compare) or the session key's keyed checksum
// (usage 10), as MIT krb5_c_verify_checksum accepts both.
func verifyChecksum(ck types.Checksum, session Key, data []byte) error {
	if ck.CksumType == cksumTypeRSAMD5 {
		sum := md5.Sum(data)
		if subtle.ConstantTimeCompare(sum[:], ck.Checksum) != 1 {
			return fmt.Errorf("%w (rsa-md5 over %d bytes of connection data)", ErrBadChecksum, len(data))
		}
		return nil
	}
	et, err := crypto.GetChksumEtype(ck.CksumType)
	if err != nil {
		return fmt.Errorf("%w: unsupported checksum type %d", ErrBadChecksum, ck.CksumType)
	}
	if et.GetETypeID() != session.Type {
		return fmt.Errorf("%w: checksum type %d does not belong to session key enctype %s", ErrBadChecksum, ck.CksumType, EnctypeName(session.Type))
	}
	want, err := et.GetChecksumHash(session.Value, data, usageAPReqCksum)
	if err != nil || len(want) == 0 || subtle.ConstantTimeCompare(want, ck.Checksum) != 1 {
		return fmt.Errorf("%w (keyed checksum type %d over %d bytes of connection data)", ErrBadChecksum, ck.CksumType, len(data))
	}
	return nil
}
