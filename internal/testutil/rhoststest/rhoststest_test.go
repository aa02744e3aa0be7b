package rhoststest

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentProcesses runs several processes that each add and remove
// their lines many times at once; afterwards none of their lines is left,
// and while each held its lines they were all present.
func TestConcurrentProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("edits /root/.rhosts: needs root")
	}
	if os.Getenv("RHOSTSTEST_CHILD") == "1" {
		t.Skip("child")
	}
	before, _ := os.ReadFile(Path)
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildCycle$", "-test.count=1")
			cmd.Env = append(os.Environ(), "RHOSTSTEST_CHILD=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- string(out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	after, _ := os.ReadFile(Path)
	if string(after) != string(before) {
		t.Errorf(".rhosts changed:\nbefore %q\nafter  %q", before, after)
	}
}

// TestChildCycle is the child of TestConcurrentProcesses.
func TestChildCycle(t *testing.T) {
	if os.Getenv("RHOSTSTEST_CHILD") != "1" {
		t.Skip("run by TestConcurrentProcesses")
	}
	for i := 0; i < 50; i++ {
		t.Run("cycle", func(t *testing.T) {
			AuthorizeRoot(t)
			b, err := os.ReadFile(Path)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "root krx-test-") {
					n++
				}
			}
			if n < 2 {
				t.Fatalf("own lines missing: %q", b)
			}
		})
	}
}
