package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// TimeFormat is the fixed-width timestamp of a log line (RFC 3339 with
// nanoseconds, as the kubelet writes it).
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// maxLine is the longest piece of a line written as one log entry.
const maxLine = 16 << 10

// Stream names as they appear in a log line.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Rotation says when a log file is rotated: once it reaches MaxSize bytes
// it is renamed to PATH.YYYYMMDD-hhmmss and a new file is started; at most
// MaxFiles files (the current one included) are kept, the oldest rotated
// ones are removed. The kubelet's containerLogMaxSize and
// containerLogMaxFiles, 10 MiB and 5 by default. MaxSize 0: no rotation.
type Rotation struct {
	MaxSize  int64
	MaxFiles int
}

// RotatedSuffix is the time format of a rotated file's suffix.
const RotatedSuffix = "20060102-150405"

// logSink appends timestamped lines to one file; both streams of a
// container share it.
type logSink struct {
	mu   sync.Mutex
	path string
	rot  Rotation
	f    *os.File
	size int64
	now  func() time.Time
	buf  []byte
}

func openSink(path string, rot Rotation, now func() time.Time) (*logSink, error) {
	s := &logSink{path: path, rot: rot, now: now}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *logSink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	s.f, s.size = f, fi.Size()
	return nil
}

func (s *logSink) write(stream string, partial bool, line []byte) error {
	tag := "F"
	if partial {
		tag = "P"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.buf[:0]
	s.buf = s.now().UTC().AppendFormat(s.buf, TimeFormat)
	s.buf = append(s.buf, ' ')
	s.buf = append(s.buf, stream...)
	s.buf = append(s.buf, ' ')
	s.buf = append(s.buf, tag...)
	s.buf = append(s.buf, ' ')
	s.buf = append(s.buf, line...)
	s.buf = append(s.buf, '\n')
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		return err
	}
	if s.rot.MaxSize > 0 && s.size >= s.rot.MaxSize {
		return s.rotate()
	}
	return nil
}

// rotate renames the full file aside, starts a new one and removes the
// oldest rotated files beyond MaxFiles. Whole lines only: it runs between
// writes. A reader following the file notices that the path names a new
// file once it has read the old one to its end (see SameFile).
func (s *logSink) rotate() error {
	if err := s.f.Close(); err != nil {
		return err
	}
	stamp := s.path + "." + s.now().UTC().Format(RotatedSuffix)
	aside := stamp
	for i := 1; ; i++ {
		if _, err := os.Lstat(aside); os.IsNotExist(err) {
			break
		}
		aside = fmt.Sprintf("%s-%d", stamp, i)
	}
	if err := os.Rename(s.path, aside); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	if err := s.open(); err != nil {
		return err
	}
	rotated := RotatedFiles(s.path)
	for len(rotated) > max(s.rot.MaxFiles-1, 0) {
		os.Remove(rotated[0])
		rotated = rotated[1:]
	}
	return nil
}

// RotatedFiles lists the rotated files of the log at path, oldest first
// (by their last write; a rotated file is never written again).
func RotatedFiles(path string) []string {
	matches, _ := filepath.Glob(path + ".[0-9]*")
	type file struct {
		name string
		mod  time.Time
	}
	files := make([]file, 0, len(matches))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			files = append(files, file{m, fi.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.Before(files[j].mod)
		}
		return files[i].name < files[j].name
	})
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.name
	}
	return out
}

func (s *logSink) close() error { return s.f.Close() }

// copyStream copies r to the sink line by line until r ends or fails,
// and hands each piece read, as it was read, to hub's subscribers (a
// prompt without a newline reaches an attached client at once).
func copyStream(sink *logSink, hub *outputHub, stream string, r io.Reader) error {
	br := bufio.NewReaderSize(publishingReader{r, hub, stream}, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := sink.write(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			// A line longer than maxLine goes in pieces tagged P.
			if werr := sink.write(stream, true, line); werr != nil {
				return werr
			}
		default:
			// The last line had no newline: keep it as a full line.
			if len(line) > 0 {
				if werr := sink.write(stream, false, line); werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// publishingReader hands what it reads to the hub's subscribers.
type publishingReader struct {
	r      io.Reader
	hub    *outputHub
	stream string
}

func (p publishingReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.hub.publish(p.stream, b[:n])
	}
	return n, err
}

// LogLine is one parsed entry of a log file.
type LogLine struct {
	Time    time.Time
	Stream  string
	Partial bool
	// Text is the content without the trailing newline.
	Text []byte
}

// ParseLogLine parses one line of a log file (without its newline). The
// returned Text shares memory with b.
func ParseLogLine(b []byte) (LogLine, error) {
	var l LogLine
	ts, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return l, fmt.Errorf("log line without a timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return l, fmt.Errorf("log line timestamp: %w", err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return l, fmt.Errorf("log line without a stream")
	}
	tag, text, ok := bytes.Cut(rest, []byte{' '})
	if !ok && len(rest) != 1 {
		return l, fmt.Errorf("log line without a tag")
	}
	l.Time, l.Stream, l.Partial, l.Text = t, string(stream), string(tag) == "P", text
	return l, nil
}
