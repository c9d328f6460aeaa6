package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// The decoders face bytes from unauthenticated peers. The fuzz targets
// check that no input panics, that every failure is a typed error, and
// that nothing is allocated beyond the input's own size and the limits.

func FuzzFrameReader(f *testing.F) {
	f.Add(appendData(nil, 1, StreamCluster, []byte("x")))
	f.Add(appendData(nil, 1<<40, StreamRaft, make([]byte, 300)))
	f.Add(appendData(nil, 70000, StreamCluster, make([]byte, 70000))[:100])
	f.Add(append(appendAck(nil, 9), pingFrame...))
	f.Add(appendHeader(nil, frameData, 1<<30))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 4096
		fr := &frameReader{r: bytes.NewReader(in), max: max}
		for {
			typ, body, err := fr.read()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, ErrProtocol) {
					t.Fatalf("untyped error %v", err)
				}
				break
			}
			if len(body) == 0 || len(body) > max {
				t.Fatalf("%v frame of %d bytes", typ, len(body))
			}
			if cap(fr.buf) > readChunk {
				t.Fatalf("buffer grew to %d for frames of at most %d", cap(fr.buf), max)
			}
			// What a connection would do with each frame.
			switch typ {
			case frameData:
				seq, st, p, err := decodeData(body)
				if err == nil && len(p) > len(body) {
					t.Fatal("payload longer than body")
				}
				// The direct path reads what the general one does.
				if s2, st2, p2, ok := splitData(body); ok {
					s, st1, p1, err := decodeDataAny(body)
					if err != nil || s != s2 || st1 != st2 || !bytes.Equal(p1, p2) || seq != s2 || st != st2 {
						t.Fatalf("splitData %d %d %x, decodeDataAny %d %d %x %v", s2, st2, p2, s, st1, p1, err)
					}
				}
			case frameAck:
				decodeAck(body)
			case framePing:
				checkPing(body)
			}
		}
	})
}

func FuzzHandshakeDecoders(f *testing.F) {
	f.Add(testHello().encode())
	w := welcome{Version: 1, Cluster: "c", Name: "b", Boot: 1, Gen: 1, Nonce: make([]byte, 16)}
	f.Add(w.encode())
	f.Add(encodeProof(make([]byte, 32)))
	f.Add(encodeReject(rejectAuth, "why"))
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		check := func(err error) {
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Fatalf("untyped error %v", err)
			}
		}
		if h, err := decodeHello(in); err == nil {
			if h.From == "" || len(h.Nonce) < nonceSize || len(h.Cluster) > maxNameLen {
				t.Fatalf("accepted hello %+v", h)
			}
			if back, err := decodeHello(h.encode()); err != nil || back.From != h.From || back.Boot != h.Boot {
				t.Fatalf("hello does not round-trip: %v", err)
			}
		} else {
			check(err)
		}
		if w, err := decodeWelcome(in); err == nil {
			if back, err := decodeWelcome(w.encode()); err != nil || back.Next != w.Next {
				t.Fatalf("welcome does not round-trip: %v", err)
			}
		} else {
			check(err)
		}
		_, err := decodeProof(in)
		check(err)
		_, _, err = decodeReject(in)
		check(err)
	})
}

// FuzzAccept feeds arbitrary bytes to the acceptor's side of the handshake
// on a live endpoint: it must end the connection, not hang or panic.
func FuzzAccept(f *testing.F) {
	h := testHello()
	h.Cluster, h.To, h.VMax = "fuzz", "acceptor", 1
	hello := appendFrame(nil, frameHello, h.encode())
	f.Add(hello)
	f.Add(append(hello, appendFrame(nil, frameProof, encodeProof(nil))...))
	f.Add(append(hello, appendFrame(nil, frameReject, encodeReject(rejectAuth, "x"))...))
	f.Add(appendHeader(nil, frameHello, 1<<20))

	cfg := DefaultConfig()
	cfg.Name, cfg.Cluster, cfg.BindAddr = "acceptor", "fuzz", "x"
	cfg.HandshakeTimeout = time.Second
	e, err := New(cfg, nopNetwork{})
	if err != nil {
		f.Fatal(err)
	}
	e.started = true // serve without a listener: connections come from the fuzzer
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			client.SetDeadline(time.Now().Add(5 * time.Second))
			go io.Copy(io.Discard, client)
			client.Write(in)
			client.Close()
		}()
		e.track(server)
		e.adm.admit(server)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		served := make(chan struct{})
		go func() {
			e.serveInbound(server, nil)
			close(served)
		}()
		select {
		case <-served:
		case <-ctx.Done():
			t.Fatal("acceptor hung")
		}
		<-done
	})
}
