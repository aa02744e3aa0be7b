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
package bench
