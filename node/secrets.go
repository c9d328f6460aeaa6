package node

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// Secrets: the cluster key and the admin token, inline or from a file,
// and the rules that keep a node from serving the network without them.

// minTokenLen is the shortest admin token accepted.
const minTokenLen = 16

// readSecretFile returns the content of path with surrounding whitespace
// trimmed. An unreadable or empty file is an error; a file that every
// user of the host may read gives a warning.
func readSecretFile(path string) (secret, warning string, err error) {
	data, err := readConfigFile(path, maxSecretFile)
	if err != nil {
		return "", "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	secret = strings.TrimSpace(string(data))
	if secret == "" {
		return "", "", fmt.Errorf("%s is empty", path)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o004 != 0 {
		warning = fmt.Sprintf("%s is readable by every user (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	return secret, warning, nil
}

// Key returns the cluster secret, decoded from SecretKey or from the file
// SecretFile names; nil when neither is set.
func (m MembershipConfig) Key() ([]byte, error) {
	key, _, err := m.key()
	return key, err
}

// keySetting names the setting the cluster secret comes from.
func (m MembershipConfig) keySetting() string {
	if m.SecretFile != "" {
		return "cluster.membership.secret_file"
	}
	return "cluster.membership.secret_key"
}

func (m MembershipConfig) key() (key []byte, warning string, err error) {
	text := m.SecretKey
	switch {
	case m.SecretKey != "" && m.SecretFile != "":
		return nil, "", errors.New("secret_key and secret_file are both set; keep one")
	case m.SecretFile != "":
		if text, warning, err = readSecretFile(m.SecretFile); err != nil {
			return nil, "", err
		}
	case text == "":
		return nil, "", nil
	}
	key, err = base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, "", errors.New("not valid base64 (make one with: head -c 32 /dev/urandom | base64)")
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, "", fmt.Errorf("decodes to %d bytes, want 16, 24 or 32", n)
	}
	return key, warning, nil
}

// BearerToken returns the admin token, from Token or from the file
// TokenFile names; "" when neither is set.
func (a AdminConfig) BearerToken() (string, error) {
	token, _, err := a.token()
	return token, err
}

// tokenSetting names the setting the admin token comes from.
func (a AdminConfig) tokenSetting() string {
	if a.TokenFile != "" {
		return "admin.token_file"
	}
	return "admin.token"
}

func (a AdminConfig) token() (token, warning string, err error) {
	token = a.Token
	switch {
	case a.Token != "" && a.TokenFile != "":
		return "", "", errors.New("token and token_file are both set; keep one")
	case a.TokenFile != "":
		if token, warning, err = readSecretFile(a.TokenFile); err != nil {
			return "", "", err
		}
	case token == "":
		return "", "", nil
	}
	if len(token) < minTokenLen {
		return "", "", fmt.Errorf("the token has %d characters, want at least %d (make one with: head -c 32 /dev/urandom | base64)", len(token), minTokenLen)
	}
	for _, c := range []byte(token) {
		if c <= ' ' || c > '~' {
			return "", "", errors.New("the token may hold only printable ASCII without spaces")
		}
	}
	return token, warning, nil
}

// isLoopback reports whether host (an IP address or name, no port) can
// only be reached from this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clusterKeyProblems checks the cluster secret, and that a cluster
// listening beyond the loopback has one (or cluster.insecure says it need
// not).
func (c Config) clusterKeyProblems(bad func(key, format string, args ...any)) {
	m := c.Cluster.Membership
	key, _, err := m.key()
	if err != nil {
		bad(m.keySetting(), "%v", err)
		return
	}
	addr := m.BindAddr
	if in := c.Cluster.Internode.BindAddr; in != "" && isLoopback(addr) {
		addr = in // the internode port may listen beyond the loopback alone
	}
	if key == nil && c.Cluster.Enabled && !c.Cluster.Insecure && !isLoopback(addr) {
		bad("cluster.membership.secret_file", "the cluster listens on %s with no secret, so anyone who reaches its ports "+
			"can join it and run processes: set cluster.membership.secret_file (or secret_key), bind to 127.0.0.1, "+
			"or set cluster.insecure: true if the network is trusted", addr)
	}
}

// adminTokenProblems checks the admin token, and that an admin endpoint
// listening beyond the loopback has one.
func (c Config) adminTokenProblems(bad func(key, format string, args ...any)) {
	token, _, err := c.Admin.token()
	if err != nil {
		bad(c.Admin.tokenSetting(), "%v", err)
		return
	}
	if c.Admin.Addr == "" || token != "" {
		return
	}
	if host, _, err := net.SplitHostPort(c.Admin.Addr); err == nil && !isLoopback(host) {
		shown := host
		if shown == "" {
			shown = "every interface"
		}
		bad("admin.addr", "%s listens on %s with no token, so anyone who reaches it can read the node's state "+
			"and restart its services: set admin.token_file (or admin.token), or listen on 127.0.0.1", c.Admin.Addr, shown)
	}
}

// Warnings lists what is allowed but unsafe in c: secret files others can
// read, and a cluster told to run without a secret. A node logs them at
// every start.
func (c Config) Warnings() []string {
	var out []string
	if _, w, err := c.Cluster.Membership.key(); err == nil && w != "" {
		out = append(out, "cluster.membership.secret_file: "+w)
	}
	if _, w, err := c.Admin.token(); err == nil && w != "" {
		out = append(out, "admin.token_file: "+w)
	}
	if key, err := c.Cluster.Membership.Key(); err == nil && key == nil && c.Cluster.Enabled && c.Cluster.Insecure &&
		!isLoopback(c.Cluster.Membership.BindAddr) {
		out = append(out, fmt.Sprintf("cluster.insecure: the cluster listens on %s with no secret: "+
			"anyone who reaches its ports can join it, read its traffic and run processes", c.Cluster.Membership.BindAddr))
	}
	return out
}
