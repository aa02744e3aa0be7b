package krbauth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func tagsN(i int) (rcTag, rcTag) {
	return replayTags([]byte(fmt.Sprint("cipher", i)), "alice@R", "host/x@R", time.Unix(int64(i), 0), i%1000000)
}

// TestReplayCacheCompaction: once most records expired the file is
// rewritten; live entries survive it, and another handle that still has
// the old inode open switches to the new file.
func TestReplayCacheCompaction(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rc")
	a, err := OpenReplayCache(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenReplayCache(p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Unix(1_000_000, 0)
	n := rcCompactMin + 10
	for i := range n {
		x, y := tagsN(i)
		if replay, err := a.checkAndStore(x, y, t0.Unix()+60, t0); err != nil || replay {
			t.Fatalf("store %d: %v %v", i, replay, err)
		}
	}
	big, _ := os.Stat(p)
	// An hour later the old records are dead; the next stores compact.
	t1 := t0.Add(time.Hour)
	x, y := tagsN(n)
	if replay, err := a.checkAndStore(x, y, t1.Unix()+60, t1); err != nil || replay {
		t.Fatal(replay, err)
	}
	small, _ := os.Stat(p)
	if small.Size() >= big.Size() || small.Size() != rcHeaderLen+rcRecordLen {
		t.Errorf("not compacted: %d → %d bytes", big.Size(), small.Size())
	}
	// b still holds the old inode: it must see the live entry anyway.
	if replay, err := b.checkAndStore(x, y, t1.Unix()+60, t1); err != nil || !replay {
		t.Errorf("other handle after compaction: replay=%v err=%v", replay, err)
	}
	// An expired entry is not a replay any more.
	x0, y0 := tagsN(0)
	if replay, err := b.checkAndStore(x0, y0, t1.Unix()+60, t1); err != nil || replay {
		t.Errorf("expired entry: replay=%v err=%v", replay, err)
	}
}

// TestReplayCacheConcurrent: handles racing to store the same tags (as
// separate processes would, each with its own open file): exactly one wins.
func TestReplayCacheConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rc")
	var wins atomic.Int32
	var wg sync.WaitGroup
	x, y := tagsN(42)
	now := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := OpenReplayCache(p)
			if err != nil {
				t.Error(err)
				return
			}
			defer rc.Close()
			replay, err := rc.checkAndStore(x, y, now.Unix()+60, now)
			if err != nil {
				t.Error(err)
			}
			if !replay {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d handles stored the same entry", wins.Load())
	}
}

// TestReplayCacheRefusesUnsafeFiles: a symlink or a file others can write
// (think /var/tmp) is refused, and a torn last record is dropped.
func TestReplayCacheRefusesUnsafeFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "target"), nil, 0o600)
	os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "link"))
	if _, err := OpenReplayCache(filepath.Join(dir, "link")); !errors.Is(err, ErrReplayCache) {
		t.Errorf("symlink: %v", err)
	}
	w := filepath.Join(dir, "writable")
	os.WriteFile(w, nil, 0o600)
	os.Chmod(w, 0o666)
	if _, err := OpenReplayCache(w); !errors.Is(err, ErrReplayCache) {
		t.Errorf("world-writable: %v", err)
	}
	torn := filepath.Join(dir, "torn")
	rc, err := OpenReplayCache(torn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	x, y := tagsN(1)
	rc.checkAndStore(x, y, now.Unix()+60, now)
	rc.Close()
	f, _ := os.OpenFile(torn, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{1, 2, 3}) // half a record, as after a crash
	f.Close()
	rc, err = OpenReplayCache(torn)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if replay, err := rc.checkAndStore(x, y, now.Unix()+60, now); err != nil || !replay {
		t.Errorf("entry before a torn record: replay=%v err=%v", replay, err)
	}
	x2, y2 := tagsN(2)
	if replay, err := rc.checkAndStore(x2, y2, now.Unix()+60, now); err != nil || replay {
		t.Fatal(replay, err)
	}
	if fi, _ := os.Stat(torn); (fi.Size()-rcHeaderLen)%rcRecordLen != 0 {
		t.Errorf("file misaligned: %d bytes", fi.Size())
	}
}
