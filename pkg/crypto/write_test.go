package crypto_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// TestWriteFileAtomicUnderConcurrency: readers never see a partial file
// while it is replaced, and of writers racing to create a file without
// overwrite exactly one wins, whole.
func TestWriteFileAtomicUnderConcurrency(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	a, b := bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 256<<10)
	if err := nvcrypto.WriteFileAtomic(path, a, 0o600, false); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			content := a
			if i%2 == 1 {
				content = b
			}
			if err := nvcrypto.WriteFileAtomic(path, content, 0o600, true); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 200 {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
			stop.Store(true)
			t.Fatalf("a reader saw %d bytes that are neither version", len(got))
		}
	}
	stop.Store(true)
	wg.Wait()

	// Racing creators: one wins, the others are told the file exists.
	fresh := filepath.Join(dir, "fresh")
	const writers = 16
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = nvcrypto.WriteFileAtomic(fresh, bytes.Repeat([]byte{byte('A' + i)}, 64<<10), 0o600, false)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("a losing writer got %v, want fs.ErrExist", err)
		}
	}
	got, _ := os.ReadFile(fresh)
	if won != 1 || len(got) != 64<<10 || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) {
		t.Errorf("%d writers won; the file holds %d bytes of mixed content", won, len(got))
	}
	if info, err := os.Stat(fresh); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	assertNoTempFiles(t, dir)
}
