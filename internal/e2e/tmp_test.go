package e2e

import (
	"bytes"
	"os"
	"testing"
)

func TestTmpAnalyze(t *testing.T) {
	b, err := os.ReadFile(os.Getenv("F"))
	if err != nil {
		t.Skip(err)
	}
	i := bytes.Index(b, []byte(markStart))
	b = b[i+len(markStart):]
	lines := bytes.SplitAfter(b, []byte("\n"))
	prev := int64(-1)
	for _, l := range lines {
		if len(l) == recLen {
			if seq, ok := parseSeq(l[:12], 'R', ' '); ok && bytes.Equal(l, record(nil, seq)) {
				if seq != prev+1 {
					t.Logf("jump %d -> %d", prev, seq)
				}
				prev = seq
				continue
			}
		}
		t.Logf("other (after %d): %q", prev, l)
	}
}
