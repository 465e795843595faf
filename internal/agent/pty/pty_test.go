//go:build linux

package pty

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenAndSize(t *testing.T) {
	ptm, pts, err := Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer ptm.Close()
	defer pts.Close()
	if err := SetSize(ptm, 100, 40); err != nil {
		t.Fatal(err)
	}
	var ws *unix.Winsize
	if err := Control(pts, func(fd int) (err error) {
		ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ws.Col != 100 || ws.Row != 40 {
		t.Fatalf("size %dx%d, want 100x40", ws.Col, ws.Row)
	}
	// What is written on one side is read on the other.
	if _, err := pts.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := ptm.Read(buf)
	if err != nil || string(buf[:n]) != "hi\r\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}
