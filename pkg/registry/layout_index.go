package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// LayoutLockFile is the file in an OCI image layout that nv2 locks while it
// creates the layout or rewrites its index.json, so that writers in several
// processes take turns. Blobs need no lock: they are content-addressed and
// each is stored by an atomic rename.
const LayoutLockFile = "index.json.lock"

// create makes the layout's files when they are missing: the folder, the
// blobs folder, index.json (first, so that a reader who sees the oci-layout
// file also finds the index) and the oci-layout file.
func (l *Layout) create() error {
	l.mu.Lock()
	done := l.created
	l.mu.Unlock()
	if done {
		return nil
	}
	if err := os.MkdirAll(l.path, 0o755); err != nil {
		return fmt.Errorf("create OCI layout %s: %w", l, err)
	}
	err := l.locked(func() error {
		if err := os.MkdirAll(filepath.Join(l.path, ocispec.ImageBlobsDir), 0o755); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(l.path, ocispec.ImageIndexFile)); errors.Is(err, os.ErrNotExist) {
			if err := l.writeIndex(&ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}); err != nil {
				return err
			}
		}
		if l.exists() {
			return nil
		}
		b, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		return writeAtomic(filepath.Join(l.path, ocispec.ImageLayoutFile), b)
	})
	if err != nil {
		return fmt.Errorf("create OCI layout %s: %w", l, err)
	}
	l.mu.Lock()
	l.created = true
	l.mu.Unlock()
	return nil
}

// updateIndex applies change to the layout's index.json as it is on disk
// now, under the layout's lock, and replaces the file atomically. An
// index.json that cannot be read is an error, never overwritten.
func (l *Layout) updateIndex(change func(*ocispec.Index)) error {
	err := l.locked(func() error {
		b, err := os.ReadFile(filepath.Join(l.path, ocispec.ImageIndexFile))
		if err != nil {
			return err
		}
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return fmt.Errorf("invalid %s: %w", ocispec.ImageIndexFile, err)
		}
		change(&idx)
		return l.writeIndex(&idx)
	})
	l.mu.Lock()
	l.store = nil // read the index again on the next read
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("update the index of OCI layout %s: %w", l, err)
	}
	return nil
}

// locked runs fn holding the layout's lock file, waiting for other writers.
func (l *Layout) locked(fn func() error) error {
	lk := flock.New(filepath.Join(l.path, LayoutLockFile))
	if err := lk.Lock(); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer lk.Unlock()
	return fn()
}

func (l *Layout) writeIndex(idx *ocispec.Index) error {
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(l.path, ocispec.ImageIndexFile), b)
}

// addManifest lists desc in idx: with tag, as that tag (replacing what the
// tag named, and an untagged entry of desc); without, untagged unless idx
// already lists desc.
func addManifest(idx *ocispec.Index, desc ocispec.Descriptor, tag string) {
	keep := idx.Manifests[:0]
	for _, m := range idx.Manifests {
		name := m.Annotations[ocispec.AnnotationRefName]
		switch {
		case tag == "" && m.Digest == desc.Digest:
			return // listed already
		case tag != "" && name == tag:
			continue // the tag moves
		case tag != "" && name == "" && m.Digest == desc.Digest:
			continue // the tagged entry replaces the untagged one
		}
		keep = append(keep, m)
	}
	entry := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: desc.ArtifactType}
	if tag != "" {
		entry.Annotations = map[string]string{ocispec.AnnotationRefName: tag}
	}
	idx.Manifests = append(keep, entry)
}

// writeAtomic replaces the file at path with b: readers see the old file or
// the new one, never a part.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, nothing to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// emptyOrCreating reports whether the folder dir, which has no oci-layout
// file, is empty or a layout an nv2 writer is creating: one holding the lock
// file, which nv2 makes first. Such a layout is completed under that lock by
// whoever writes next.
func emptyOrCreating(dir string) bool {
	entries, _ := os.ReadDir(dir)
	if len(entries) == 0 {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, LayoutLockFile))
	return err == nil
}
