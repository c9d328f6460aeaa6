package transport

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Name = "n1"
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config with a name: %v", err)
	}
	cases := map[string]func(*Config){
		"no name":          func(c *Config) { c.Name = "" },
		"long name":        func(c *Config) { c.Name = string(make([]byte, 256)) },
		"no cluster":       func(c *Config) { c.Cluster = "" },
		"key length":       func(c *Config) { c.SecretKey = make([]byte, 20) },
		"no bind":          func(c *Config) { c.BindAddr = "" },
		"versions above":   func(c *Config) { c.MaxVersion = MaxProtocolVersion + 1 },
		"versions crossed": func(c *Config) { c.MinVersion, c.MaxVersion = 2, 1 },
		"version zero":     func(c *Config) { c.MinVersion = 0 },
		"tiny frame":       func(c *Config) { c.MaxFrame = 10 },
		"queue < frame":    func(c *Config) { c.SendQueueBytes = int64(c.MaxFrame) },
		"recv < frame":     func(c *Config) { c.RecvQueueBytes = int64(c.MaxFrame) - 1 },
		"zero timeout":     func(c *Config) { c.WriteTimeout = 0 },
		"keepalive":        func(c *Config) { c.KeepAlive = c.ReadTimeout },
		"backoff":          func(c *Config) { c.BackoffMax = c.BackoffMin / 2 },
		"handshakes":       func(c *Config) { c.MaxPendingHandshakes = 0 },
	}
	for name, edit := range cases {
		c := ok
		edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := New(c, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New with %s: %v", name, err)
		}
	}
	for _, n := range []int{16, 24, 32} {
		c := ok
		c.SecretKey = make([]byte, n)
		if err := c.Validate(); err != nil {
			t.Errorf("%d-byte key: %v", n, err)
		}
	}
	if d := DefaultConfig(); d.BackoffMin != 10*time.Millisecond || d.BackoffMax != 5*time.Second || d.MaxFrame != 16<<20 || d.SendQueueBytes != 64<<20 {
		t.Fatalf("defaults differ from the spec: %+v", d)
	}
}

func TestNewCopiesAndDrawsBoot(t *testing.T) {
	c := DefaultConfig()
	c.Name = "n"
	c.SecretKey = []byte("0123456789abcdef")
	e1, err := New(c, nopNetwork{})
	if err != nil {
		t.Fatal(err)
	}
	c.SecretKey[0] = 'x'
	if e1.cfg.SecretKey[0] != '0' {
		t.Fatal("New kept the caller's key slice")
	}
	e2, _ := New(c, nopNetwork{})
	if e1.Boot() == 0 || e1.Boot() == e2.Boot() {
		t.Fatalf("boot ids %x %x", e1.Boot(), e2.Boot())
	}
	c.BootID = 42
	e3, _ := New(c, nopNetwork{})
	if e3.Boot() != 42 {
		t.Fatalf("configured boot id ignored: %x", e3.Boot())
	}
	for _, e := range []*Endpoint{e1, e2, e3} {
		e.Close()
	}
}

func TestDialBackAddr(t *testing.T) {
	remote := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 55555}
	cases := []struct{ adv, want string }{
		{"0.0.0.0:7950", "10.1.2.3:7950"},
		{"[::]:7950", "10.1.2.3:7950"},
		{":7950", "10.1.2.3:7950"},
		{"192.168.0.9:7950", "192.168.0.9:7950"},
		{"node1.local:7950", "node1.local:7950"},
		{"memnet-host", "memnet-host"},
	}
	for _, c := range cases {
		if got := dialBackAddr(c.adv, remote); got != c.want {
			t.Errorf("dialBackAddr(%q) = %q, want %q", c.adv, got, c.want)
		}
	}
}

// nopNetwork is a Network that is never used.
type nopNetwork struct{}

func (nopNetwork) Listen(string) (net.Listener, error) { return nil, errors.New("nop") }
func (nopNetwork) Dial(context.Context, string) (net.Conn, error) {
	return nil, errors.New("nop")
}
