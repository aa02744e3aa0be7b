package rhoststest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentProcesses runs several processes that each add and remove
// their lines many times at once; afterwards none of their lines is left,
// and while each held its lines they were all present. (Other packages'
// tests may edit the file meanwhile: only the children's lines are checked.)
func TestConcurrentProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("edits /root/.rhosts: needs root")
	}
	if os.Getenv("RHOSTSTEST_CHILD") == "1" {
		t.Skip("child")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	pids := make(chan int, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildCycle$", "-test.count=1")
			cmd.Env = append(os.Environ(), "RHOSTSTEST_CHILD=1")
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				errs <- err.Error()
				return
			}
			pids <- cmd.Process.Pid
			if err := cmd.Wait(); err != nil {
				errs <- out.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(pids)
	for e := range errs {
		t.Error(e)
	}
	after, _ := os.ReadFile(Path)
	for pid := range pids {
		if tag := fmt.Sprintf("krx-test-%d-", pid); strings.Contains(string(after), tag) {
			t.Errorf("child %d left lines behind:\n%s", pid, after)
		}
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
				if strings.Contains(l, fmt.Sprintf("root krx-test-%d-", os.Getpid())) {
					n++
				}
			}
			if n < 2 {
				t.Fatalf("own lines missing: %q", b)
			}
		})
	}
}
