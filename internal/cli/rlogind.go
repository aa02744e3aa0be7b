package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/krx-suite/krx/internal/klogind"
	"github.com/krx-suite/krx/internal/krxd"
	"github.com/krx-suite/krx/internal/kshelld"
	"github.com/krx-suite/krx/internal/logind"
	"github.com/krx-suite/krx/internal/rhosts"
	"github.com/krx-suite/krx/internal/server"
	"github.com/krx-suite/krx/internal/shelld"
	"github.com/krx-suite/krx/krbauth"
)

const rlogindLong = `rlogind serves the plain BSD login service (rlogin, TCP 513) and shell
service (rsh and rcp, TCP 514), speaking the protocols exactly as netkit's
in.rlogind and in.rshd do, so that unmodified rlogin, rsh and rcp clients work,
and krx's encrypted Kerberos services: krx login (rlogin -x, eklogin, TCP 2105)
and krx shell (rsh -x and rcp -x, kshell, TCP 544). Legacy KCMDV0.1/0.2
clients (MIT krlogin/krsh) are told in clear that their framing is not served.

WHERE CONNECTIONS COME FROM
  standalone   listen on --login-addr (default :513), --shell-addr
               (default :514), --eklogin-addr (default :2105) and
               --kshell-addr (default :544); "off" or "" turns a service
               off. --krx-addr serves krx login and krx shell both on one
               port (off by default): the service each client bound into
               its authenticator checksum tells them apart. Without a
               usable keytab (and no -K) the krx services are turned off
               with a warning.
  inetd        -i: serve the one connection on descriptor 0 (inetd, xinetd,
               socat EXEC:...,nofork, systemd Accept=yes). --service says
               which; without it the local port (513/514) decides. Logs go
               to syslog (facility daemon) when stderr is the socket.
  systemd      socket activation is detected (LISTEN_PID, LISTEN_FDS):
               sockets named login or shell with FileDescriptorName=, else
               recognised by port 513/514, else --service for a single
               socket. Listening sockets are served until stopped;
               connected ones (Accept=yes) once. --login-addr and
               --shell-addr are then ignored.

AUTHORISATION
  Plain connections are authorised by ~/.rhosts and hosts.equiv with
  glibc's ruserok rules (hosts.equiv is never used for root; ~/.rhosts must
  be a regular file owned by the user or root and not writable by others).
  This is off unless --rhosts is given: without it every plain connection
  is refused with "rlogind: .rhosts authentication disabled (start with
  --rhosts)" and a log line. A client whose source port is not reserved
  (512-1023) is refused with "Permission denied", as netkit does, unless
  --no-reserved-port-check. The client only ever sees a short refusal; the
  reason (which file and line allowed or denied) goes to the log.

  krx connections are authenticated by Kerberos (keytab -K, else
  KRB5_KTNAME, else /etc/krb5.keytab; replay cache --rcache; --clock-skew)
  and authorised by the server user's ~/.k5login (or <--k5login-dir>/<user>),
  read as that user; without one, a principal of krb5.conf's default realm
  maps to the local user of the same name. A refused peer sees only
  "rlogind: Permission denied."; the log says why. Forwarded credentials are
  stored in a ccache owned by the user (KRB5CCNAME), removed at the end.

SESSIONS
  login: the user's login shell (argv[0] "-sh" style) on a pty in packet
  mode, as the user, with TERM from the client, HOME, SHELL, USER, LOGNAME
  and PATH, in the home directory. ^C flushes (urgent FLUSHWRITE), ^S/^Q
  mode changes and window sizes work as with netkit.
  shell: "$SHELL -c command" as the user with the connection as stdin and
  stdout, stderr on the client's second connection (connected back from a
  reserved port before any status byte), signal bytes from the client
  delivered to the command's process group.
  The whole handshake must arrive within --handshake-timeout (netkit:
  60 s).

LOGGING
  One line per connection on stderr: service, peer, client and server user,
  decision (accepted, refused, failed) and reason; for krx connections the
  authenticated principal too. -D adds debug lines
  (commands and terminal types, session ends, signals).

SIGNALS
  SIGTERM, SIGHUP and SIGINT stop rlogind: it closes its listeners, hangs up
  every session (SIGHUP to its process group, SIGKILL after --hangup-grace)
  and exits when they are gone.

EXAMPLES
  rlogind --rhosts
  rlogind --rhosts --login-addr 127.0.0.1:2513 --shell-addr off -D
  rlogind --login-addr off --shell-addr off -K /etc/krb5.keytab
  rlogind --login-addr off --shell-addr off --eklogin-addr off --kshell-addr off --krx-addr :4444
      (then: rlogin -x -p 4444 host, rsh -x -p 4444 host cmd, rcp -x -P 4444 f host:)
  inetd.conf:  login stream tcp nowait root /usr/sbin/rlogind rlogind -i --rhosts --service login`

// rlogindFlags are rlogind's options.
type rlogindFlags struct {
	loginAddr, shellAddr string
	inetd                bool
	service              string
	rhosts               bool
	hostsEquiv           string
	noHostsEquiv         bool
	noPortCheck          bool
	handshakeTimeout     time.Duration
	hangupGrace          time.Duration
	debug                bool
	ekloginAddr          string
	kshellAddr           string
	krxAddr              string
	keytab               string
	rcache               string
	clockSkew            time.Duration
	k5loginDir           string
	// krxExplicit: a krx option was given, so a missing keytab is an error.
	krxExplicit bool
}

// NewRlogind returns the rlogind daemon command.
func NewRlogind() *cobra.Command {
	c := newRoot("rlogind [flags]",
		"serve the login and shell services: plain (rlogin, rsh, rcp) and krx-encrypted (rlogin -x, rsh -x, rcp -x)",
		rlogindLong)
	var o rlogindFlags
	f := c.Flags()
	f.StringVar(&o.loginAddr, "login-addr", fmt.Sprintf(":%d", server.LoginPort), "serve the login service on `addr:port` (\"off\": not at all)")
	f.StringVar(&o.shellAddr, "shell-addr", fmt.Sprintf(":%d", server.ShellPort), "serve the shell service on `addr:port` (\"off\": not at all)")
	f.BoolVarP(&o.inetd, "inetd", "i", false, "serve the one connection on descriptor 0 (inetd mode)")
	f.StringVar(&o.service, "service", "", "service (login, shell, eklogin, kshell or krx) of an inetd or lone systemd `socket`")
	f.BoolVar(&o.rhosts, "rhosts", false, "allow .rhosts/hosts.equiv authorisation (plain connections are refused without it)")
	f.StringVar(&o.hostsEquiv, "hosts-equiv", rhosts.DefaultHostsEquiv, "hosts.equiv `path`")
	f.BoolVar(&o.noHostsEquiv, "no-hosts-equiv", false, "do not read hosts.equiv at all")
	f.BoolVar(&o.noPortCheck, "no-reserved-port-check", false, "accept client and stderr ports outside 512-1023")
	f.DurationVar(&o.handshakeTimeout, "handshake-timeout", server.DefaultHandshakeTimeout, "time allowed for the whole handshake")
	f.DurationVar(&o.hangupGrace, "hangup-grace", server.DefaultHangupGrace, "time a hung-up session has to exit before SIGKILL")
	f.BoolVarP(&o.debug, "debug", "D", false, "log debug lines too")
	f.StringVar(&o.ekloginAddr, "eklogin-addr", fmt.Sprintf(":%d", server.EkloginPort), "serve krx login (rlogin -x) on `addr:port` (\"off\": not at all)")
	f.StringVar(&o.kshellAddr, "kshell-addr", fmt.Sprintf(":%d", server.KshellPort), "serve krx shell (rsh -x, rcp -x) on `addr:port` (\"off\": not at all)")
	f.StringVar(&o.krxAddr, "krx-addr", "off", "serve krx login and krx shell both on one `addr:port` (clients: rlogin -x -p, rsh -x -p, rcp -x -P)")
	f.StringVarP(&o.keytab, "keytab", "K", "", "service keytab `path` (default $KRB5_KTNAME, else "+krbauth.DefaultKeytab+")")
	f.StringVar(&o.rcache, "rcache", krbauth.DefaultReplayCachePath(), "replay cache `path`")
	f.DurationVar(&o.clockSkew, "clock-skew", krbauth.DefaultClockSkew, "allowed clock difference with krx clients")
	f.StringVar(&o.k5loginDir, "k5login-dir", "", "read <`dir`>/<user> instead of ~user/.k5login")
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		cmd.SilenceUsage = true
		for _, n := range []string{"eklogin-addr", "kshell-addr", "krx-addr", "keytab", "rcache", "k5login-dir"} {
			o.krxExplicit = o.krxExplicit || cmd.Flags().Changed(n)
		}
		return runRlogind(cmd.Context(), o)
	}
	return c
}

func runRlogind(parent context.Context, o rlogindFlags) error {
	if parent == nil {
		parent = context.Background()
	}
	var fallback server.Service
	if o.service != "" {
		s, err := server.ParseService(o.service)
		if err != nil {
			return err
		}
		fallback = s
	}
	var logOut io.Writer = os.Stderr
	if o.inetd && stderrIsSocket() {
		// inetd gave us the peer's socket as stderr too: never log to it.
		logOut = io.Discard
		if w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "rlogind"); err == nil {
			defer w.Close()
			logOut = w
		}
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	cfg := &server.Config{
		Rhosts:              o.rhosts,
		Checker:             &rhosts.Checker{HostsEquiv: o.hostsEquiv, NoHostsEquiv: o.noHostsEquiv},
		NoReservedPortCheck: o.noPortCheck,
		HandshakeTimeout:    o.handshakeTimeout,
		HangupGrace:         o.hangupGrace,
		Log:                 log,
	}
	srv := &server.Server{
		Handlers: map[server.Service]server.Handler{server.Login: logind.New(cfg), server.Shell: shelld.New(cfg)},
		Log:      log,
	}
	krxFallback := fallback == server.Eklogin || fallback == server.Kshell || fallback == server.Krx
	if !o.inetd && !isOn(o.ekloginAddr) && !isOn(o.kshellAddr) && !isOn(o.krxAddr) {
		// turned off: no keytab needed
	} else if kcfg, closeKRX, err := krxConfig(o, cfg); err != nil {
		if o.krxExplicit || krxFallback {
			return err
		}
		lvl := slog.LevelWarn
		if o.inetd {
			lvl = slog.LevelDebug // most likely a plain connection
		}
		log.Log(context.Background(), lvl, "krx services (eklogin, kshell) off", "err", err)
		o.ekloginAddr, o.kshellAddr, o.krxAddr = "off", "off", "off"
	} else {
		defer closeKRX()
		srv.Handlers[server.Eklogin] = klogind.New(kcfg)
		srv.Handlers[server.Kshell] = kshelld.New(kcfg)
		srv.Handlers[server.Krx] = krxd.New(kcfg)
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)
	defer stop()

	if o.inetd {
		conn, err := server.Inetd()
		if err != nil {
			return err
		}
		svc := fallback
		if svc == "" {
			if svc = portService(conn.LocalAddr()); svc == "" {
				conn.Close()
				return fmt.Errorf("inetd mode: local port of %v is not 513, 514, 2105 or 544; pass --service login|shell|eklogin|kshell|krx", conn.LocalAddr())
			}
		}
		if err := server.DetachStdio(); err != nil {
			log.Warn("detaching stdio from the socket", "err", err)
		}
		if srv.Handlers[svc] == nil {
			conn.Close()
			return fmt.Errorf("inetd mode: the %s service is off", svc)
		}
		srv.Go(ctx, svc, conn)
		srv.Wait()
		return nil
	}

	ls, cs, err := server.Systemd(fallback)
	if err != nil {
		return err
	}
	if len(ls)+len(cs) > 0 {
		log.Info("socket activation", "listeners", len(ls), "connections", len(cs))
		for _, c := range cs {
			srv.Go(ctx, c.Service, c.TCPConn)
		}
		if len(ls) == 0 {
			srv.Wait()
			return nil
		}
		return srv.Serve(ctx, ls...)
	}

	for _, a := range []struct {
		svc  server.Service
		addr string
	}{{server.Login, o.loginAddr}, {server.Shell, o.shellAddr}, {server.Eklogin, o.ekloginAddr}, {server.Kshell, o.kshellAddr}, {server.Krx, o.krxAddr}} {
		if !isOn(a.addr) {
			continue
		}
		l, err := server.Listen(ctx, a.svc, a.addr)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return err
		}
		log.Info("listening", "service", string(a.svc), "addr", l.Addr().String())
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return errors.New("no service to serve: --login-addr, --shell-addr, --eklogin-addr, --kshell-addr and --krx-addr are all off")
	}
	if !o.rhosts && (isOn(o.loginAddr) || isOn(o.shellAddr)) {
		log.Warn("--rhosts not given: every plain connection will be refused")
	}
	return srv.Serve(ctx, ls...)
}

// portService maps a standard local port to its service.
func portService(a net.Addr) server.Service {
	if ta, ok := a.(*net.TCPAddr); ok {
		return server.PortService(ta.Port)
	}
	return ""
}

// stderrIsSocket reports whether descriptor 2 is a socket.
func stderrIsSocket() bool {
	st, err := os.Stderr.Stat()
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// isOn reports whether a listen address turns its service on.
func isOn(addr string) bool { return addr != "" && !strings.EqualFold(addr, "off") }

// krxConfig loads the keytab and opens the replay cache for the krx
// services; the default realm for .k5login-less mapping comes from
// krb5.conf when there is one. close releases the replay cache.
func krxConfig(o rlogindFlags, cfg *server.Config) (*klogind.Config, func(), error) {
	kt, err := krbauth.LoadKeytab(o.keytab)
	if err != nil {
		return nil, nil, err
	}
	rc, err := krbauth.OpenReplayCache(o.rcache)
	if err != nil {
		return nil, nil, err
	}
	authz := krbauth.AuthzConfig{K5loginDirectory: o.k5loginDir}
	if kc, err := krbauth.LoadKrb5Conf(""); err == nil {
		authz.DefaultRealm = kc.LibDefaults.DefaultRealm
	}
	// krx always requires the keyed checksum over its binding (krxsess);
	// the policy here applies to legacy clients, which are only refused.
	return &klogind.Config{
		Server:   cfg,
		Acceptor: &krbauth.Acceptor{Keytab: kt, RCache: rc, ClockSkew: o.clockSkew, Checksum: krbauth.ChecksumVerifyIfPresent, EchoSubkey: true},
		Authz:    authz,
	}, func() { rc.Close() }, nil
}
