// Package e2e runs the real wippyd binary as several processes forming a
// cluster on 127.0.0.1 and drives a Lua app across them.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// messageCount is how many ordered messages the driver sends to n2.
const messageCount = 100000

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// repoRoot is the directory of go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		abs, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	return filepath.Dir(mod)
}

// buildBinary builds ./cmd/wippyd (without -race: the nodes are separate
// processes) into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wippyd")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/wippyd")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a port that was free a moment ago (the race with
// other listeners is accepted). Memberlist binds UDP and TCP on its port,
// so the port is checked free for both.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// node is one wippyd process.
type node struct {
	name   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	member string // memberlist host:port
	admin  string // admin host:port
	done   chan struct{}
	err    error // Wait result, set before done closes
}

// clusterArgs are the --set flags of a clustered node.
func clusterArgs(name, join string, t *testing.T) (args []string, member, admin string) {
	member = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	_, mport, _ := net.SplitHostPort(member)
	admin = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	args = []string{
		"--set", "node.name=" + name,
		"--set", "cluster.enabled=true",
		"--set", "cluster.raft.enabled=false",
		"--set", "cluster.membership.bind_addr=127.0.0.1",
		"--set", "cluster.membership.bind_port=" + mport,
		"--set", "cluster.internode.port=" + strconv.Itoa(freePort(t)),
		"--set", "cluster.membership.profile=fast",
		"--set", "admin.addr=" + admin,
	}
	if join != "" {
		args = append(args, "--set", "cluster.membership.join_addrs="+join)
	}
	return args, member, admin
}

// start runs bin with args; the process is killed and reaped at cleanup.
func start(t *testing.T, bin, name string, args []string, stdout bool) (*node, *bufio.Scanner) {
	t.Helper()
	n := &node{name: name, stderr: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stderr = n.stderr
	var sc *bufio.Scanner
	if stdout {
		pipe, err := n.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		sc = bufio.NewScanner(pipe)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	if !stdout {
		go func() {
			n.err = n.cmd.Wait()
			close(n.done)
		}()
	}
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		if !stdout {
			<-n.done
		} else {
			n.cmd.Wait()
		}
	})
	return n, sc
}

// memberNames polls GET /v1/status and returns the alive members.
func memberNames(ctx context.Context, admin string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st struct {
		Members []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"members"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	var names []string
	for _, m := range st.Members {
		if m.State == "alive" {
			names = append(names, m.Name)
		}
	}
	return names, nil
}

// waitLog polls n's stderr until it contains want.
func waitLog(t *testing.T, n *node, want string, timeout time.Duration, dump func()) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(n.stderr.String(), want) {
		select {
		case <-n.done:
			dump()
			t.Fatalf("%s exited before logging %s: %v", n.name, want, n.err)
		case <-deadline:
			dump()
			t.Fatalf("%s did not log %s within %v", n.name, want, timeout)
		case <-tick.C:
		}
	}
}

func TestThreeNodesRemoteSpawnOrderAndNoconnection(t *testing.T) {
	testStart := time.Now()
	bin := buildBinary(t)
	t.Logf("build: %v", time.Since(testStart).Round(time.Millisecond))
	app, err := filepath.Abs(filepath.Join("testdata", "app"))
	if err != nil {
		t.Fatal(err)
	}

	var nodes []*node
	dumpLogs := func() {
		for _, n := range nodes {
			t.Logf("---- %s stderr ----\n%s", n.name, n.stderr.String())
		}
	}
	var join string
	for _, name := range []string{"n1", "n2", "n3"} {
		args, member, admin := clusterArgs(name, join, t)
		n, _ := start(t, bin, name, append([]string{"run", "--src", app}, args...), false)
		n.member, n.admin = member, admin
		nodes = append(nodes, n)
		if join == "" {
			// n2 and n3 join through n1: wait until it listens, else
			// their first join fails and the retry comes 10 s later.
			waitLog(t, n, `msg="node started"`, 10*time.Second, dumpLogs)
			join = member
		}
	}

	// Every node sees all three members alive.
	clusterStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, n := range nodes {
		for {
			names, err := memberNames(ctx, n.admin)
			if err == nil && len(names) == 3 {
				break
			}
			select {
			case <-n.done:
				dumpLogs()
				t.Fatalf("%s exited early: %v", n.name, n.err)
			case <-ctx.Done():
				dumpLogs()
				t.Fatalf("%s does not see 3 members: %v %v", n.name, names, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	t.Logf("3 members seen by all: %v", time.Since(clusterStart).Round(time.Millisecond))

	// The driver: a client node joining through n1.
	args, _, _ := clusterArgs("client", join, t)
	args = append([]string{"run", "--src", app}, args...)
	args = append(args, "-x", "app:driver", strconv.Itoa(messageCount))
	driver, out := start(t, bin, "client", args, true)
	nodes = append(nodes, driver)

	lines := make(chan string, 64)
	go func() {
		for out.Scan() {
			lines <- out.Text()
		}
		close(lines)
	}()
	var got []string
	fail := func(format string, a ...any) {
		t.Helper()
		dumpLogs()
		t.Fatalf("%s\ndriver stdout so far:\n%s", fmt.Sprintf(format, a...), strings.Join(got, "\n"))
	}
	next := func(timeout time.Duration) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				fail("driver stdout ended early")
			}
			got = append(got, l)
			return l
		case <-time.After(timeout):
			fail("no driver output within %v", timeout)
		}
		return ""
	}
	expect := func(timeout time.Duration, want string) {
		t.Helper()
		if l := next(timeout); l != want {
			fail("driver printed %q, want %q", l, want)
		}
	}

	expect(15*time.Second, "sink on n2")
	sendStart := time.Now()
	expect(30*time.Second, fmt.Sprintf("received %d in order: true", messageCount))
	t.Logf("%d ordered messages client -> n2: %v (driver: %s)", messageCount, time.Since(sendStart).Round(time.Millisecond), next(time.Second))

	watching := map[string]bool{next(15 * time.Second): true, next(15 * time.Second): true}
	if !watching["n1 watches n3"] || !watching["n2 watches n3"] {
		fail("watchers: %v", watching)
	}
	expect(5*time.Second, "ready")

	// SIGKILL n3: no leave, the others must detect the crash.
	n3 := nodes[2]
	killed := time.Now()
	if err := n3.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, who := range []string{"client", "n1", "n2"} {
		want[who+" EXIT: noconnection"] = true
		want[who+" LINK_DOWN: noconnection"] = true
	}
	for len(want) > 0 {
		l := next(15 * time.Second)
		if !want[l] {
			fail("unexpected driver line %q after killing n3; still waiting for %v", l, want)
		}
		delete(want, l)
		t.Logf("%s after %v", l, time.Since(killed).Round(time.Millisecond))
	}
	expect(5*time.Second, "done")
	if l, ok := <-lines; ok {
		fail("extra driver output %q", l)
	}
	if err := driver.cmd.Wait(); err != nil {
		fail("driver exit: %v", err)
	}
	t.Logf("total: %v", time.Since(testStart).Round(time.Millisecond))
}
