// Package bench holds whole-command benchmarks that compare krx with the
// programs it replaces, in the same run on the same machine (`make bench`).
//
// The rsh/rcp benchmarks (rsh_rcp_test.go) need root: TestMain re-runs the
// test binary in a fresh network and mount namespace (unshare), where the
// real netkit in.rshd is served by socat on 127.0.0.1:514 — the only port
// netkit's rcp and rsh clients can use — and a private tmpfs holds a 1 GiB
// file of random data and the copies. Each comparison has a leaf per
// program (MB/s from b.SetBytes) and an interleaved leaf, "krx-vs-netkit",
// that runs the two alternately and reports both rates and their ratio:
// on a shared, noisy machine compare ratios from one run.
//
// The encrypted-session benchmarks (krx_ssh_test.go, krx_pty_test.go,
// krx_flush_test.go) set krx beside OpenSSH, also as root: a throwaway
// realm (internal/krbtest), rlogind serving only eklogin and kshell, and an
// sshd on a loopback high port with throwaway ed25519 keys (sshd_test.go).
// BulkRshXvsSSH and RcpXvsSCP move 1 GiB and also report krx against the
// AES-256 CFB-64 ceiling measured in the same run; EchoRTT times single
// keystrokes through rlogin -x and ssh -tt on ptys (p50/p99, with the
// local pty floor beside them); Setup times "rsh -x host /bin/true"
// against "ssh host /bin/true"; Flush counts what each client paints after
// ^C during a flood over a 10 Mbit link between two network namespaces
// (internal/flakylink). KRX_BENCH_PERF=dir records each krx client with
// perf for a profile.
package bench
