package memnet_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/wippyd/wippyd/transport/memnet"
)

// pair dials b from a and returns both ends.
func pair(t *testing.T, n *memnet.Network, a, b string) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := n.Host(b).Listen("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c, err := n.Host(a).Dial(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func readAll(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	return buf
}

func TestConnBasics(t *testing.T) {
	n := memnet.New()
	c, s := pair(t, n, "a", "b")
	if c.RemoteAddr().String() != "b" || s.LocalAddr().String() != "b" || c.LocalAddr().Network() != "memnet" {
		t.Fatalf("addresses %v %v", c.RemoteAddr(), s.LocalAddr())
	}
	c.Write([]byte("hello "))
	c.Write([]byte("world"))
	if got := string(readAll(t, s, 11)); got != "hello world" {
		t.Fatalf("read %q", got)
	}
	// Close: the other end reads what was sent, then EOF; its writes fail.
	s.Write([]byte("bye"))
	s.Close()
	if got := string(readAll(t, c, 3)); got != "bye" {
		t.Fatalf("read %q", got)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write to a closed peer succeeded")
	}
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed conn: %v", err)
	}
	if n.Conns() != 0 {
		t.Fatalf("%d conns open", n.Conns())
	}
}

func TestDeadlines(t *testing.T) {
	c, s := pair(t, memnet.New(), "a", "b")
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past deadline: %v", err)
	}
	// Extending the deadline makes the conn usable again.
	c.SetReadDeadline(time.Time{})
	s.Write([]byte("x"))
	if got := readAll(t, c, 1); string(got) != "x" {
		t.Fatalf("read %q", got)
	}
	// Writes block on a full pipe until the deadline.
	big := make([]byte, 1<<20)
	s.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := s.Write(big); err != nil {
		t.Fatalf("first write fills the pipe: %v", err)
	}
	if _, err := s.Write(big); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a full pipe: %v", err)
	}
	// A deadline already past fails at once.
	s.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := s.Write(big); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past deadline: %v", err)
	}
}

func TestFaults(t *testing.T) {
	n := memnet.New()
	c, s := pair(t, n, "a", "b")

	n.DropNext("a", "b", 1)
	c.Write([]byte("lost"))
	c.Write([]byte("kept"))
	if got := string(readAll(t, s, 4)); got != "kept" {
		t.Fatalf("after a dropped write, read %q", got)
	}

	n.Delay("a", "b", 30*time.Millisecond)
	start := time.Now()
	c.Write([]byte("1"))
	c.Write([]byte("2"))
	if got := string(readAll(t, s, 2)); got != "12" {
		t.Fatalf("delayed writes read as %q", got)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("delayed write arrived after %v", d)
	}
	n.Delay("a", "b", 0)

	n.Cut("a", "b")
	if _, err := s.Read(make([]byte, 1)); err == nil || err == io.EOF {
		t.Fatalf("read after cut: %v", err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write after cut succeeded")
	}

	n.Partition("a", "b")
	if _, err := n.Host("b").Dial(context.Background(), "b"); err != nil {
		t.Fatalf("b dialing itself is not partitioned: %v", err)
	}
	if _, err := n.Host("a").Dial(context.Background(), "b"); !errors.Is(err, memnet.ErrUnreachable) {
		t.Fatalf("dial across a partition: %v", err)
	}
	n.Heal("a", "b")
	c2, err := n.Host("a").Dial(context.Background(), "b")
	if err != nil {
		t.Fatalf("dial after heal: %v", err)
	}
	c2.Close()
}

func TestPause(t *testing.T) {
	n := memnet.New()
	c, s := pair(t, n, "a", "b")
	n.Pause("b")
	if _, err := c.Write([]byte("held ")); err != nil {
		t.Fatalf("write to a paused host: %v", err)
	}
	if _, err := s.Write([]byte("out")); err != nil {
		t.Fatalf("write by a paused host: %v", err)
	}
	for _, end := range []net.Conn{s, c} {
		end.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := end.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read while paused: %v", err)
		}
	}
	// A dial to the paused host connects; its bytes wait too.
	c2, err := n.Host("a").Dial(context.Background(), "b")
	if err != nil {
		t.Fatalf("dial to a paused host: %v", err)
	}
	defer c2.Close()
	// a gives up on the connection while b is paused: b still reads what
	// was sent, then EOF, once resumed.
	c.Write([]byte("then closed"))
	c.Close()
	n.Resume("b")
	if got := string(readAll(t, s, 16)); got != "held then closed" {
		t.Fatalf("after resume, b read %q", got)
	}
	if _, err := s.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the held bytes: %v", err)
	}
	// Traffic flows as usual after Resume.
	c3, s3 := pair(t, n, "a", "c")
	c3.Write([]byte("x"))
	if got := string(readAll(t, s3, 1)); got != "x" {
		t.Fatalf("read %q", got)
	}
}

func TestListener(t *testing.T) {
	n := memnet.New()
	h := n.Host("a")
	ln, err := h.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Listen("a"); !errors.Is(err, memnet.ErrAddrInUse) {
		t.Fatalf("listen twice: %v", err)
	}
	if _, err := h.Dial(context.Background(), "nowhere"); !errors.Is(err, memnet.ErrRefused) {
		t.Fatalf("dial nowhere: %v", err)
	}
	// A dial waiting in the backlog is closed with the listener.
	c, err := n.Host("b").Dial(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read on a never accepted conn: %v", err)
	}
	if _, err := n.Host("b").Dial(context.Background(), "a"); !errors.Is(err, memnet.ErrRefused) {
		t.Fatalf("dial a closed listener: %v", err)
	}
	// The address is free again.
	ln, err = h.Listen("a")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}
