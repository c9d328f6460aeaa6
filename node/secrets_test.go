package node

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes

func secretFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

// A node reachable from other machines refuses to start without its
// secrets: a cluster on every interface with no key (a rogue node could
// join it and run processes), an admin endpoint beyond the loopback with
// no token.
func TestOpenNodeRefused(t *testing.T) {
	cases := []struct {
		name string
		sets []string
		want string // a substring of the problem; "" = accepted
	}{
		{"cluster, no secret, every interface", []string{"cluster.enabled=true"},
			"cluster.membership.secret_file: the cluster listens on 0.0.0.0 with no secret"},
		{"cluster, no secret, an interface", []string{"cluster.enabled=true", "cluster.membership.bind_addr=10.1.2.3"},
			"listens on 10.1.2.3 with no secret"},
		{"cluster, no secret, loopback", []string{"cluster.enabled=true", "cluster.membership.bind_addr=127.0.0.1"}, ""},
		{"cluster, no secret, internode beyond the loopback", []string{"cluster.enabled=true",
			"cluster.membership.bind_addr=127.0.0.1", "cluster.internode.bind_addr=0.0.0.0"},
			"cluster.membership.secret_file: the cluster listens on 0.0.0.0 with no secret"},
		{"cluster, no secret, insecure", []string{"cluster.enabled=true", "cluster.insecure=true"}, ""},
		{"cluster, secret", []string{"cluster.enabled=true", "cluster.membership.secret_key=" + testKey}, ""},
		{"no cluster", []string{"cluster.enabled=false"}, ""},
		{"admin on every interface", []string{"admin.addr=0.0.0.0:7960"},
			"admin.addr: 0.0.0.0:7960 listens on 0.0.0.0 with no token"},
		{"admin with no host", []string{"admin.addr=:7960"}, "listens on every interface with no token"},
		{"admin on a name", []string{"admin.addr=node1.example:7960"}, "listens on node1.example with no token"},
		{"admin on loopback", []string{"admin.addr=127.0.0.1:0"}, ""},
		{"admin on localhost", []string{"admin.addr=localhost:0"}, ""},
		{"admin on ::1", []string{"admin.addr=[::1]:0"}, ""},
		{"admin with a token", []string{"admin.addr=0.0.0.0:0", "admin.token=0123456789abcdef"}, ""},
		{"admin off", []string{"admin.addr="}, ""},
	}
	for _, tc := range cases {
		_, err := LoadConfig(LoadOptions{Set: tc.sets})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		case tc.want != "" && !errors.Is(err, ErrBadConfig):
			t.Errorf("%s: %v is not ErrBadConfig", tc.name, err)
		}
	}
}

func TestSecretFile(t *testing.T) {
	key, _ := base64.StdEncoding.DecodeString(testKey)
	good := secretFile(t, "\n "+testKey+"\n", 0o600)
	c, err := LoadConfig(LoadOptions{Set: []string{"cluster.membership.secret_file=" + good}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Cluster.Membership.Key(); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Key() = %x, %v; want %x", got, err, key)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings for a private key file: %v", w)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"missing", []string{"cluster.membership.secret_file=" + missing}, "cluster.membership.secret_file: cannot read " + missing + ": no such file"},
		{"empty", []string{"cluster.membership.secret_file=" + secretFile(t, " \n", 0o600)}, "is empty"},
		{"short", []string{"cluster.membership.secret_file=" + secretFile(t, "c2hvcnQ=", 0o600)}, "cluster.membership.secret_file: decodes to 5 bytes"},
		{"not base64", []string{"cluster.membership.secret_file=" + secretFile(t, "not a key!", 0o600)}, "cluster.membership.secret_file: not valid base64"},
		{"both", []string{"cluster.membership.secret_file=" + good, "cluster.membership.secret_key=" + testKey}, "cluster.membership.secret_file: secret_key and secret_file are both set"},
	} {
		_, err := LoadConfig(LoadOptions{Set: tc.sets})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "MDEy") {
			t.Errorf("%s: the key is echoed: %v", tc.name, err)
		}
	}
	open := secretFile(t, testKey, 0o644)
	c, err = LoadConfig(LoadOptions{Set: []string{"cluster.membership.secret_file=" + open}})
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "readable by every user") {
		t.Fatalf("warnings for a world-readable key file: %v", w)
	}
}

func TestAdminToken(t *testing.T) {
	file := secretFile(t, "0123456789abcdefXYZ\n", 0o600)
	c, err := LoadConfig(LoadOptions{Set: []string{"admin.addr=0.0.0.0:0", "admin.token_file=" + file}})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := c.Admin.BearerToken(); err != nil || tok != "0123456789abcdefXYZ" {
		t.Fatalf("BearerToken() = %q, %v", tok, err)
	}
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"short", []string{"admin.token=short"}, "admin.token: the token has 5 characters, want at least 16"},
		{"space", []string{"admin.token=0123456789 abcdefgh"}, "admin.token: the token may hold only printable ASCII"},
		{"both", []string{"admin.token=0123456789abcdef", "admin.token_file=" + file}, "admin.token_file: token and token_file are both set"},
		{"empty file", []string{"admin.token_file=" + secretFile(t, "\n", 0o600)}, "is empty"},
	} {
		_, err := LoadConfig(LoadOptions{Set: tc.sets})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestInsecureWarns(t *testing.T) {
	c, err := LoadConfig(LoadOptions{Set: []string{"cluster.enabled=true", "cluster.insecure=true"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "cluster.insecure: the cluster listens on 0.0.0.0 with no secret") {
		t.Fatalf("warnings = %v", w)
	}
	c.Cluster.Membership.BindAddr = "127.0.0.1"
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings on the loopback = %v", w)
	}
}
