package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is one file of a payload: its content and permission bits.
type File struct {
	Data []byte
	Mode fs.FileMode
}

const (
	dataLink    = "..data"
	dataLinkTmp = "..data_tmp"
	tsPrefix    = "..ts."
)

// WritePayload makes dir hold exactly the files of payload (keyed by
// relative path) and reports whether anything changed. Readers never see
// a half-written update: files are written into a new hidden directory
// and the "..data" symlink is switched to it with one rename; the
// user-visible names are symlinks through "..data".
func WritePayload(dir string, payload map[string]File) (bool, error) {
	tops := map[string]bool{}
	for p := range payload {
		if err := checkPath(p); err != nil {
			return false, err
		}
		top, _, _ := strings.Cut(p, "/")
		tops[top] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("volume dir: %w", err)
	}
	old, err := os.Readlink(filepath.Join(dir, dataLink))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read data link: %w", err)
	}
	if old != "" && samePayload(filepath.Join(dir, old), payload) {
		return false, linkTops(dir, tops)
	}
	ts, err := os.MkdirTemp(dir, tsPrefix)
	if err != nil {
		return false, fmt.Errorf("payload dir: %w", err)
	}
	if err := writeFiles(ts, payload); err != nil {
		os.RemoveAll(ts)
		return false, err
	}
	tmp := filepath.Join(dir, dataLinkTmp)
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		os.RemoveAll(ts)
		return false, fmt.Errorf("data link: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		os.RemoveAll(ts)
		return false, fmt.Errorf("switch data link: %w", err)
	}
	if err := linkTops(dir, tops); err != nil {
		return true, err
	}
	if old != "" && old != filepath.Base(ts) {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			return true, fmt.Errorf("remove old payload: %w", err)
		}
	}
	return true, nil
}

// checkPath refuses paths that could leave the volume, as the kubelet
// does.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty file path in volume payload")
	case filepath.IsAbs(p):
		return fmt.Errorf("file path %q must be relative", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("file path %q must not start with '..'", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "" {
			return fmt.Errorf("file path %q must not contain '..' or empty elements", p)
		}
	}
	return nil
}

func writeFiles(root string, payload map[string]File) error {
	if err := os.Chmod(root, 0o755); err != nil {
		return fmt.Errorf("payload dir: %w", err)
	}
	for p, f := range payload {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("payload dir: %w", err)
		}
		if err := os.WriteFile(full, f.Data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		// Chmod after writing: the umask must not change the mode.
		if err := os.Chmod(full, f.Mode.Perm()); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	return nil
}

// samePayload reports whether dir holds exactly payload.
func samePayload(dir string, payload map[string]File) bool {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, ok := payload[filepath.ToSlash(rel)]
		if !ok {
			return errors.New("extra file")
		}
		fi, err := d.Info()
		if err != nil || fi.Mode().Perm() != f.Mode.Perm() {
			return errors.New("mode differs")
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, f.Data) {
			return errors.New("content differs")
		}
		n++
		return nil
	})
	return err == nil && n == len(payload)
}

// linkTops makes dir/<top> -> ..data/<top> for every top-level name and
// removes the links of names no longer in the payload.
func linkTops(dir string, tops map[string]bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read volume dir: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "..") || tops[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove stale link: %w", err)
		}
	}
	for top := range tops {
		link, want := filepath.Join(dir, top), filepath.Join(dataLink, top)
		if cur, err := os.Readlink(link); err == nil && cur == want {
			continue
		}
		os.Remove(link)
		if err := os.Symlink(want, link); err != nil {
			return fmt.Errorf("link %s: %w", top, err)
		}
	}
	return nil
}
