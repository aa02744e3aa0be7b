package krbauth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Error codes we map (RFC 4120 §7.5.9).
const (
	errCodeSPrincipalUnknown = 7  // KDC_ERR_S_PRINCIPAL_UNKNOWN
	errCodeBadIntegrity      = 31 // KRB_AP_ERR_BAD_INTEGRITY
	errCodeTktExpired        = 32 // KRB_AP_ERR_TKT_EXPIRED
	errCodeTktNYV            = 33 // KRB_AP_ERR_TKT_NYV
	errCodeRepeat            = 34 // KRB_AP_ERR_REPEAT
	errCodeNotUs             = 35 // KRB_AP_ERR_NOT_US
	errCodeBadMatch          = 36 // KRB_AP_ERR_BADMATCH
	errCodeSkew              = 37 // KRB_AP_ERR_SKEW
	errCodeBadVersion        = 39 // KRB_AP_ERR_BADVERSION
	errCodeMsgType           = 40 // KRB_AP_ERR_MSG_TYPE
	errCodeModified          = 41 // KRB_AP_ERR_MODIFIED
	errCodeBadKeyVer         = 44 // KRB_AP_ERR_BADKEYVER
	errCodeNoKey             = 45 // KRB_AP_ERR_NOKEY
	errCodeInappCksum        = 50 // KRB_AP_ERR_INAPP_CKSUM
	errCodeGeneric           = 60 // KRB_ERR_GENERIC
	errCodeWrongRealm        = 68 // KDC_ERR_WRONG_REALM
)

// maxKRBError bounds a KRB-ERROR the client accepts from a server.
const maxKRBError = 64 << 10

// errorCodeName is e.g. "(37) KRB_AP_ERR_SKEW Clock skew too great".
func errorCodeName(code int32) string { return errorcode.Lookup(code) }

// sentinelForCode maps a KRB-ERROR code sent by a server to our sentinel.
func sentinelForCode(code int32) error {
	switch code {
	case errCodeBadIntegrity, errCodeModified:
		return ErrBadIntegrity
	case errCodeTktExpired, errCodeTktNYV:
		return ErrTicketNotValid
	case errCodeRepeat:
		return ErrReplay
	case errCodeSkew:
		return ErrClockSkew
	case errCodeBadKeyVer:
		return ErrWrongKVNO
	case errCodeNoKey, errCodeNotUs:
		return ErrNoKey
	case errCodeInappCksum:
		return ErrBadChecksum
	case errCodeWrongRealm:
		return ErrWrongRealm
	}
	return nil
}

// codeForError maps a verification failure to the KRB-ERROR code a server
// sends, as MIT's recvauth does with krb5_rd_req's result.
func codeForError(err error) int32 {
	switch {
	case errors.Is(err, ErrClockSkew):
		return errCodeSkew
	case errors.Is(err, ErrReplay):
		return errCodeRepeat
	case errors.Is(err, ErrWrongKVNO):
		return errCodeBadKeyVer
	case errors.Is(err, ErrNoKey), errors.Is(err, ErrWrongRealm):
		return errCodeNoKey
	case errors.Is(err, ErrBadIntegrity):
		return errCodeBadIntegrity
	case errors.Is(err, ErrBadChecksum), errors.Is(err, ErrNoChecksum):
		return errCodeInappCksum
	case errors.Is(err, ErrTicketNotValid):
		var te *TicketTimeError
		if errors.As(err, &te) && te.NotYetValid {
			return errCodeTktNYV
		}
		return errCodeTktExpired
	}
	return errCodeGeneric
}

// TicketTimeError reports a service ticket outside its validity period.
type TicketTimeError struct {
	Client      string
	Start, End  time.Time
	Now         time.Time
	NotYetValid bool
}

func (e *TicketTimeError) Error() string {
	if e.NotYetValid {
		return fmt.Sprintf("krbauth: ticket of %s not valid before %s (server time %s)", e.Client, e.Start.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("krbauth: ticket of %s expired at %s (server time %s): the client must run kinit", e.Client, e.End.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrTicketNotValid.
func (e *TicketTimeError) Unwrap() error { return ErrTicketNotValid }

// MarshalKRBError builds the DER KRB-ERROR a server sends when verification
// fails, like MIT recvauth: stime/susec, the server principal (or "????"),
// the mapped error code and the error text.
func MarshalKRBError(cause error, server string, now time.Time) []byte {
	pn, realm := splitPrincipal(server)
	if len(pn.NameString) == 0 || pn.NameString[0] == "" {
		pn = types.PrincipalName{NameType: 0, NameString: []string{"????"}}
	}
	ke := messages.KRBError{
		PVNO:      iana.PVNO,
		MsgType:   msgtype.KRB_ERROR,
		STime:     now.UTC().Truncate(time.Second),
		Susec:     now.Nanosecond() / 1000,
		ErrorCode: codeForError(cause),
		Realm:     realm,
		SName:     pn,
		EText:     peerText(cause),
	}
	b, err := ke.Marshal()
	if err != nil {
		// Cannot happen for these field values; send a bare generic error.
		ke.EText = ""
		b, _ = ke.Marshal()
	}
	return b
}

// peerText is the e-text sent to the (unauthenticated) peer: what it can
// act on, without local details such as file paths.
func peerText(err error) string {
	var ke *KeytabError
	var ce *ClockSkewError
	switch {
	case errors.As(err, &ke) && ke.Err == ErrWrongKVNO:
		return fmt.Sprintf("the server has no key version %d for %s (it has %v): get a new ticket", ke.KVNO, ke.Principal, ke.Have)
	case errors.As(err, &ke):
		return fmt.Sprintf("the server has no usable %s key version %d for %s", EnctypeName(ke.EType), ke.KVNO, ke.Principal)
	case errors.As(err, &ce):
		return fmt.Sprintf("server time %s, client time %s, limit %s",
			ce.ServerTime.UTC().Format(time.RFC3339), ce.ClientTime.UTC().Format(time.RFC3339), ce.Limit)
	}
	for _, s := range []error{ErrReplay, ErrTicketNotValid, ErrBadIntegrity, ErrBadChecksum, ErrNoChecksum,
		ErrNoKey, ErrWrongRealm, ErrMalformed, ErrTooLong, ErrReplayCache} {
		if errors.Is(err, s) {
			return strings.TrimPrefix(s.Error(), "krbauth: ")
		}
	}
	return "authentication failed"
}

// ParseKRBError decodes a DER KRB-ERROR into a *ServerError.
func ParseKRBError(b []byte) (se *ServerError, err error) {
	defer recoverErr(&err, "KRB-ERROR")
	var ke messages.KRBError
	if err := ke.Unmarshal(b); err != nil {
		return nil, malformed("KRB-ERROR", err)
	}
	return &ServerError{
		Code:       ke.ErrorCode,
		Text:       strings.TrimRight(ke.EText, "\x00"),
		ServerTime: ke.STime.Add(time.Duration(ke.Susec) * time.Microsecond),
	}, nil
}
