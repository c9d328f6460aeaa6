package pid

import (
	"errors"
	"testing"
)

func TestStringParseRoundTrip(t *testing.T) {
	cases := []struct {
		p    PID
		want string
	}{
		{PID{Node: "node1", Host: "app:processes", Seq: 0x4a}, "{node1@app:processes|0x0004a}"},
		{PID{Node: "n1", Host: "app:terminal", Seq: 1}, "{n1@app:terminal|0x00001}"},
		{PID{Host: "app:processes", Seq: 4}, "{app:processes|0x00004}"},
		{PID{Node: "a.b-c", Host: "x", Seq: 0xffffffffffffffff}, "{a.b-c@x|0xffffffffffffffff}"},
		{PID{Node: "n", Host: "h", Seq: 0x123456}, "{n@h|0x123456}"},
	}
	for _, c := range cases {
		if got := c.p.String(); got != c.want {
			t.Errorf("String(%#v) = %q, want %q", c.p, got, c.want)
		}
		back, err := Parse(c.want)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.want, err)
		}
		if back != c.p {
			t.Errorf("Parse(%q) = %#v, want %#v", c.want, back, c.p)
		}
	}
}

func TestParseRejects(t *testing.T) {
	bad := []string{
		"", "{}", "n@h|0x1", "{n@h|0x1", "{n@h|1}", "{n@h|0x}", "{n@h|0xZZ}",
		"{@h|0x00001}", "{n@|0x00001}", "{n@h|0x00000}", "{n@h|0x1}", "{n@h|x|0x00001}",
		"{n@h|0x0000A}", "{n@h@i|0x00001}", "{n@h|0x11111111111111111}",
	}
	for _, s := range bad {
		if p, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %#v, %v; want ErrSyntax", s, p, err)
		}
	}
}

func TestZero(t *testing.T) {
	if !(PID{}).IsZero() || (PID{}).String() != "" {
		t.Fatal("zero PID must be zero and print empty")
	}
	if (PID{Host: "h", Seq: 1}).IsZero() {
		t.Fatal("non-zero PID reported zero")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"{node1@app:processes|0x0004a}", "{h|0x00001}", "{a@b|0xffffffffffffffff}", "{", "}{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if got := p.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		again, err := Parse(p.String())
		if err != nil || again != p {
			t.Fatalf("round trip of %q: %#v, %v", s, again, err)
		}
	})
}
