package krbauth

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/krx-suite/krx/internal/krbtest"
)

// reportMedian adds the median per-iteration time as a metric (the speed
// target is a median; ns/op is the mean).
func reportMedian(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(d[len(d)*9/10].Microseconds())/1000, "p90-ms")
}

// BenchmarkAuth measures client+server authentication with the ccache
// loaded once: AP-REQ → server verify (keytab, fsync'd replay cache,
// checksum, AP-REP) → client AP-REP verify.
//   - cached-ticket: the service ticket is already in hand;
//   - with-TGS: each iteration first gets the ticket from the KDC;
//   - loopback: the whole sendauth/recvauth over a new TCP connection.
func BenchmarkAuth(b *testing.B) {
	r := startRealm(b, krbtest.Options{})
	cl := aliceClient(b, r, nil)
	ac := acceptor(b, r.HostKeytab)
	ac.Checksum = ChecksumRequire
	data := KcmdChecksumData(543, "xterm/38400", "alice")
	opts := SendAuthOptions{AppVersion: AppVersionKCMD02, ChecksumData: data}
	auth := func(b *testing.B, st *ServiceTicket) {
		req, err := st.NewAPReq(opts)
		if err != nil {
			b.Fatal(err)
		}
		acc, err := ac.Verify(req.Bytes, data, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := req.VerifyAPRep(acc.APRep); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cached-ticket", func(b *testing.B) {
		st, err := cl.ServiceTicket("localhost", "")
		if err != nil {
			b.Fatal(err)
		}
		var d []time.Duration
		for b.Loop() {
			t0 := time.Now()
			auth(b, st)
			d = append(d, time.Since(t0))
		}
		reportMedian(b, d)
	})
	b.Run("with-TGS", func(b *testing.B) {
		var d []time.Duration
		for b.Loop() {
			cl.mu.Lock()
			cl.tickets, cl.cached = map[string]*ServiceTicket{}, nil
			cl.mu.Unlock()
			t0 := time.Now()
			st, err := cl.ServiceTicket("localhost", "")
			if err != nil {
				b.Fatal(err)
			}
			auth(b, st)
			d = append(d, time.Since(t0))
		}
		reportMedian(b, d)
	})
	b.Run("loopback-cached-ticket", func(b *testing.B) {
		st, err := cl.ServiceTicket("localhost", "")
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		errc := make(chan error, 1)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, err = ac.RecvAuth(c, nil)
				c.Close()
				errc <- err
			}
		}()
		var d []time.Duration
		for b.Loop() {
			t0 := time.Now()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := SendAuth(c, st, opts); err != nil {
				b.Fatal(err)
			}
			c.Close()
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(t0))
		}
		reportMedian(b, d)
	})
}
