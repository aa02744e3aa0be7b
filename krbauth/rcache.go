package krbauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Replay cache file format (krx's own): a 16-byte header (rcMagic, 8 zero
// bytes) followed by fixed 32-byte records: expiry (int64 BE, Unix seconds),
// tag A (12 bytes, hash of the authenticator ciphertext), tag B (12 bytes,
// hash of client, server, ctime, cusec). A request is a replay if either tag
// of a live record matches. Records are appended and fsync'd under an
// exclusive flock; the file is compacted (rewritten and renamed over) when
// most records have expired, and other processes notice the new inode.
const (
	rcMagic      = "KRXRCv1\n"
	rcHeaderLen  = 16
	rcRecordLen  = 32
	rcTagLen     = 12
	rcDefaultMax = 1 << 20 // live records (32 MiB of file)
	rcCompactMin = 4096    // never compact a smaller file
)

type rcTag [rcTagLen]byte

// ReplayCache is a file-backed replay cache shared by every process that
// opens the same path; it survives restarts. Safe for concurrent use.
type ReplayCache struct {
	path string
	max  int

	mu    sync.Mutex
	f     *os.File
	ino   uint64
	off   int64           // file offset up to which records are loaded
	seen  map[rcTag]int64 // tag → expiry
	total int             // records in the file
}

// DefaultReplayCachePath is $KRB5RCACHEDIR (else /var/tmp) plus
// "krx_rcache_<euid>", like MIT's default rcache location.
func DefaultReplayCachePath() string {
	dir := os.Getenv("KRB5RCACHEDIR")
	if dir == "" {
		dir = "/var/tmp"
	}
	return filepath.Join(dir, "krx_rcache_"+strconv.Itoa(os.Geteuid()))
}

// OpenReplayCache opens (creating it, mode 0600) the replay cache file at
// path ("" = DefaultReplayCachePath()).
func OpenReplayCache(path string) (*ReplayCache, error) {
	if path == "" {
		path = DefaultReplayCachePath()
	}
	rc := &ReplayCache{path: path, max: rcDefaultMax}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := rc.reopen(); err != nil {
		return nil, err
	}
	return rc, nil
}

// Path is the cache file.
func (rc *ReplayCache) Path() string { return rc.path }

// Close releases the file.
func (rc *ReplayCache) Close() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.f == nil {
		return nil
	}
	err := rc.f.Close()
	rc.f = nil
	return err
}

func (rc *ReplayCache) fail(format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrReplayCache, rc.path, fmt.Sprintf(format, a...))
}

// reopen opens the file at rc.path (creating it) and resets the index.
func (rc *ReplayCache) reopen() error {
	if rc.f != nil {
		rc.f.Close()
		rc.f = nil
	}
	// O_NOFOLLOW and the owner check: the default directory is /var/tmp,
	// where another user could plant a symlink or a file of their own.
	f, err := os.OpenFile(rc.path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return rc.fail("%v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return rc.fail("%v", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		f.Close()
		return rc.fail("not a regular file")
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		f.Close()
		return rc.fail("owned by uid %d with mode %o: refusing a cache others can write", st.Uid, st.Mode&0o777)
	}
	rc.f, rc.ino, rc.off, rc.total = f, st.Ino, 0, 0
	rc.seen = map[rcTag]int64{}
	return nil
}

// lock takes the exclusive flock on the current file, reopening when
// another process replaced it (compaction) or removed it.
func (rc *ReplayCache) lock() error {
	for range 10 {
		if rc.f == nil {
			if err := rc.reopen(); err != nil {
				return err
			}
		}
		if err := syscall.Flock(int(rc.f.Fd()), syscall.LOCK_EX); err != nil {
			return rc.fail("flock: %v", err)
		}
		var st syscall.Stat_t
		err := syscall.Stat(rc.path, &st)
		if err == nil && st.Ino == rc.ino {
			return nil
		}
		syscall.Flock(int(rc.f.Fd()), syscall.LOCK_UN)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rc.fail("%v", err)
		}
		if err := rc.reopen(); err != nil {
			return err
		}
	}
	return rc.fail("file keeps being replaced")
}

// load reads records appended since the last load (by any process).
func (rc *ReplayCache) load(now int64) error {
	fi, err := rc.f.Stat()
	if err != nil {
		return rc.fail("%v", err)
	}
	size := fi.Size()
	if size < rcHeaderLen {
		// New (or truncated by a crash before the header was synced).
		hdr := make([]byte, rcHeaderLen)
		copy(hdr, rcMagic)
		if err := rc.f.Truncate(0); err != nil {
			return rc.fail("%v", err)
		}
		if _, err := rc.f.WriteAt(hdr, 0); err != nil {
			return rc.fail("%v", err)
		}
		rc.off, rc.total, size = rcHeaderLen, 0, rcHeaderLen
		clear(rc.seen)
	}
	if rc.off == 0 {
		hdr := make([]byte, rcHeaderLen)
		if _, err := rc.f.ReadAt(hdr, 0); err != nil {
			return rc.fail("reading header: %v", err)
		}
		if !bytes.Equal(hdr[:len(rcMagic)], []byte(rcMagic)) {
			return rc.fail("not a krx replay cache (bad magic)")
		}
		rc.off = rcHeaderLen
	}
	// A crash mid-append can leave a partial record: drop it so later
	// records stay aligned.
	if extra := (size - rcHeaderLen) % rcRecordLen; extra != 0 {
		size -= extra
		if err := rc.f.Truncate(size); err != nil {
			return rc.fail("%v", err)
		}
	}
	if size <= rc.off {
		return nil
	}
	buf := make([]byte, size-rc.off)
	if _, err := rc.f.ReadAt(buf, rc.off); err != nil && err != io.EOF {
		return rc.fail("%v", err)
	}
	for p := 0; p+rcRecordLen <= len(buf); p += rcRecordLen {
		r := buf[p : p+rcRecordLen]
		exp := int64(binary.BigEndian.Uint64(r))
		rc.total++
		if exp < now {
			continue
		}
		var a, b rcTag
		copy(a[:], r[8:20])
		copy(b[:], r[20:32])
		rc.seen[a], rc.seen[b] = exp, exp
	}
	rc.off = size
	return nil
}

// checkAndStore reports a replay if a tag is live, else records both tags
// until expiry (Unix seconds) and syncs the file.
func (rc *ReplayCache) checkAndStore(a, b rcTag, expiry int64, now time.Time) (replay bool, err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := rc.lock(); err != nil {
		return false, err
	}
	defer func() {
		if rc.f != nil {
			syscall.Flock(int(rc.f.Fd()), syscall.LOCK_UN)
		}
	}()
	nowSec := now.Unix()
	if err := rc.load(nowSec); err != nil {
		return false, err
	}
	for _, t := range []rcTag{a, b} {
		if exp, ok := rc.seen[t]; ok && exp >= nowSec {
			return true, nil
		}
	}
	rc.prune(nowSec)
	if len(rc.seen)/2 >= rc.max {
		return false, rc.fail("full (%d live entries)", len(rc.seen)/2)
	}
	rec := make([]byte, rcRecordLen)
	binary.BigEndian.PutUint64(rec, uint64(expiry))
	copy(rec[8:20], a[:])
	copy(rec[20:32], b[:])
	if _, err := rc.f.WriteAt(rec, rc.off); err != nil {
		return false, rc.fail("%v", err)
	}
	if err := syscall.Fdatasync(int(rc.f.Fd())); err != nil {
		return false, rc.fail("fsync: %v", err)
	}
	rc.off += rcRecordLen
	rc.total++
	rc.seen[a], rc.seen[b] = expiry, expiry
	if rc.total > rcCompactMin && rc.total > len(rc.seen) {
		// More than half the records are dead: rewrite. A failure here
		// leaves the (valid) old file in place.
		_ = rc.compact()
	}
	return false, nil
}

func (rc *ReplayCache) prune(now int64) {
	for t, exp := range rc.seen {
		if exp < now {
			delete(rc.seen, t)
		}
	}
}

// compact writes the live records to a new file, locks it, and renames it
// over the old one; called with the old file locked.
func (rc *ReplayCache) compact() error {
	tmp := fmt.Sprintf("%s.tmp%d", rc.path, os.Getpid())
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, fs.ErrExist) { // left by a crash
		os.Remove(tmp)
		nf, err = os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	}
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(nf.Fd()), syscall.LOCK_EX); err != nil {
		nf.Close()
		os.Remove(tmp)
		return err
	}
	// Pair the tags back up by re-reading the live records of the old file.
	buf := make([]byte, rc.off-rcHeaderLen)
	if _, err := rc.f.ReadAt(buf, rcHeaderLen); err != nil && err != io.EOF {
		nf.Close()
		os.Remove(tmp)
		return err
	}
	out := make([]byte, rcHeaderLen, rcHeaderLen+len(rc.seen)/2*rcRecordLen)
	copy(out, rcMagic)
	n := 0
	for p := 0; p+rcRecordLen <= len(buf); p += rcRecordLen {
		r := buf[p : p+rcRecordLen]
		var a rcTag
		copy(a[:], r[8:20])
		if _, ok := rc.seen[a]; ok {
			out = append(out, r...)
			n++
		}
	}
	var st syscall.Stat_t
	_, err = nf.WriteAt(out, 0)
	if err == nil {
		err = nf.Sync()
	}
	if err == nil {
		err = syscall.Fstat(int(nf.Fd()), &st)
	}
	if err == nil {
		err = os.Rename(tmp, rc.path)
	}
	if err != nil {
		nf.Close()
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(rc.path)); err == nil {
		d.Sync()
		d.Close()
	}
	syscall.Flock(int(rc.f.Fd()), syscall.LOCK_UN)
	rc.f.Close()
	rc.f, rc.ino, rc.off, rc.total = nf, st.Ino, int64(len(out)), n
	return nil
}

// replayTags derives the two tags of an authenticator.
func replayTags(cipher []byte, client, server string, ctime time.Time, cusec int) (a, b rcTag) {
	h := sha256.New()
	h.Write([]byte("krx-rc-A\x00"))
	h.Write(cipher)
	copy(a[:], h.Sum(nil))
	h.Reset()
	fmt.Fprintf(h, "krx-rc-B\x00%s\x00%s\x00%d\x00%d", client, server, ctime.Unix(), cusec)
	copy(b[:], h.Sum(nil))
	return a, b
}
