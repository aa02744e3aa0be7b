package krbauth

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"
)

// KDC transport limits.
const (
	kdcDialTimeout = 3 * time.Second
	kdcTimeout     = 10 * time.Second
	maxKDCReply    = 1 << 20
)

// sendKDC sends a request to the realm's KDCs from krb5.conf, over TCP
// (RFC 4120 §7.2.2: u32 length framing), falling back to UDP, and returns
// the first reply. When none answers it lists every address tried.
func (c *Client) sendKDC(realm string, req []byte) ([]byte, error) {
	_, kdcs, err := c.conf.GetKDCs(realm, true)
	if err != nil || len(kdcs) == 0 {
		return nil, &WrongRealmError{Realm: realm, Reason: "no KDC configured for it in krb5.conf (check [realms], or the -k realm)"}
	}
	keys := make([]int, 0, len(kdcs))
	for k := range kdcs {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var tried []string
	for _, k := range keys {
		addr := withPort(kdcs[k])
		rb, err := kdcTCP(addr, req)
		if err == nil {
			return rb, nil
		}
		tried = append(tried, fmt.Sprintf("tcp %s: %v", addr, err))
	}
	if c.conf.LibDefaults.UDPPreferenceLimit != 1 {
		for _, k := range keys {
			addr := withPort(kdcs[k])
			rb, err := kdcUDP(addr, req)
			if err == nil {
				return rb, nil
			}
			tried = append(tried, fmt.Sprintf("udp %s: %v", addr, err))
		}
	}
	return nil, &KDCUnreachableError{Realm: realm, Tried: tried}
}

func withPort(a string) string {
	if _, _, err := net.SplitHostPort(a); err == nil {
		return a
	}
	return net.JoinHostPort(strings.Trim(a, "[]"), "88")
}

func kdcTCP(addr string, req []byte) ([]byte, error) {
	conn, err := net.DialTimeout("tcp", addr, kdcDialTimeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(kdcTimeout))
	if err := writeMsg(conn, req); err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxKDCReply {
		return nil, fmt.Errorf("bad reply length %d", n)
	}
	rb := make([]byte, n)
	if _, err := io.ReadFull(conn, rb); err != nil {
		return nil, err
	}
	return rb, nil
}

func kdcUDP(addr string, req []byte) ([]byte, error) {
	conn, err := net.DialTimeout("udp", addr, kdcDialTimeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(kdcDialTimeout))
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	rb := make([]byte, 65536)
	n, err := conn.Read(rb)
	if err != nil {
		return nil, err
	}
	return rb[:n], nil
}
