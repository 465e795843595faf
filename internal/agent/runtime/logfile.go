package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
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

// logSink appends timestamped lines to one file; both streams of a
// container share it.
type logSink struct {
	mu  sync.Mutex
	f   *os.File
	now func() time.Time
	buf []byte
}

func openSink(path string, now func() time.Time) (*logSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logSink{f: f, now: now}, nil
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
	_, err := s.f.Write(s.buf)
	return err
}

func (s *logSink) close() error { return s.f.Close() }

// copyStream copies r to the sink line by line until r ends or fails.
func copyStream(sink *logSink, stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := sink.write(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
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
