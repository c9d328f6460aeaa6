package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wippyd/wippyd/node"
)

var statusCommand = register(&command{
	name:     "status",
	synopsis: "wippyd status [--addr HOST:PORT] [--config FILE] [--token-file FILE]",
	help: `Prints a summary of a running node's GET /v1/status: its processes,
hosts, services, cluster members and cluster-wide names.

flags:
  --addr HOST:PORT     the node's admin endpoint (default: admin.addr of the
                       configuration, 127.0.0.1:7960; an address on every
                       interface is reached on the loopback)
  --config FILE        the node's config file, for admin.addr and the token
                       (default: .wippy.yaml in the working directory, if any)
  --token-file FILE    file holding the admin token (default: admin.token_file
                       of the configuration, or WIPPY_ADMIN_TOKEN_FILE)
  -h, --help           print this help

exit status:
  0   printed
  1   no node answered at the address, or it refused (a missing or wrong token)
  2   bad flags, config or token file
`,
})

// statusTimeout bounds the whole request.
const statusTimeout = 5 * time.Second

// statusCmd is `wippyd status`: a readable summary of a node's /v1/status.
// The admin token, when the node needs one, comes from --token-file, or
// from the node's configuration (--config, WIPPY_ADMIN_TOKEN_FILE,
// WIPPY_ADMIN_TOKEN), as `wippyd run` reads it.
func statusCmd(args []string, stdout, stderr io.Writer, environ []string) int {
	c := statusCommand
	fs := c.flags()
	addr := fs.String("addr", "", "")
	cfgFile := fs.String("config", "", "")
	tokenFile := fs.String("token-file", "", "")
	if code := c.parse(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return c.misuse(stderr, "unexpected argument %q", fs.Arg(0))
	}
	cfg, err := node.LoadConfig(node.LoadOptions{File: node.ConfigFile(*cfgFile), Env: environ})
	if err != nil {
		fmt.Fprintf(stderr, "wippyd status: %v\n", err)
		return 2
	}
	if *tokenFile != "" {
		cfg.Admin.Token, cfg.Admin.TokenFile = "", *tokenFile
	}
	token, err := cfg.Admin.BearerToken()
	if err != nil {
		fmt.Fprintf(stderr, "wippyd status: admin token: %v\n", err)
		return 2
	}
	if *addr == "" {
		*addr = dialAddr(cfg.Admin.Addr)
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+*addr+"/v1/status", nil)
	if err != nil {
		fmt.Fprintf(stderr, "wippyd status: %v\n", err)
		return 2
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: statusTimeout}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "wippyd status: %s\n", unreachable(*addr, err))
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "wippyd status: %s answered %s\n", *addr, resp.Status)
		return 1
	}
	var st node.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		fmt.Fprintf(stderr, "wippyd status: bad answer: %v\n", err)
		return 1
	}
	printStatus(stdout, st)
	return 0
}

// unreachable says why no status came from addr, without Go's request
// text: nothing listening is the usual case (no node runs, or it runs
// with another admin.addr, or none: `run -x` has none by default).
func unreachable(addr string, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("no node answers at %s (connection refused).\n"+
			"Is a node running? It serves its status at admin.addr (default %s;\n"+
			"'wippyd run -x' serves none unless admin.addr is set). For another node,\n"+
			"give --addr HOST:PORT or its --config.", addr, node.DefaultAdminAddr)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("%s did not answer within %v", addr, statusTimeout)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Sprintf("cannot reach %s: %v", addr, oe.Err)
	}
	return fmt.Sprintf("cannot reach %s: %v", addr, err)
}

// dialAddr is where to reach an admin endpoint listening on listen: an
// unspecified host (every interface) is reached on the loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return node.DefaultAdminAddr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func printStatus(w io.Writer, st node.Status) {
	ready := "ready"
	if !st.Ready {
		ready = "NOT READY"
	}
	fmt.Fprintf(w, "node %s (wippyd %s), %s, up %s\n", st.Node, st.Version, ready, (time.Duration(st.UptimeS) * time.Second).String())
	fmt.Fprintf(w, "processes %d; messages sent %d local / %d remote, received %d local / %d remote\n",
		st.Processes, st.Messages.SentLocal, st.Messages.SentRemote, st.Messages.ReceivedLocal, st.Messages.ReceivedRemote)
	if len(st.Names) > 0 {
		fmt.Fprintf(w, "names: %s\n", scopeCounts(st.Names))
	}
	if d := nonZero(st.Messages.Dropped); d != "" {
		fmt.Fprintf(w, "dropped: %s\n", d)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nHOST\tPROCESSES\tSPAWNS\tSTATES")
	for _, h := range st.Hosts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", h.ID, h.Processes, h.Spawns, nonZero(h.ByState))
	}
	if len(st.Services) > 0 {
		fmt.Fprintln(tw, "\nSERVICE\tSTATE\tPID\tRESTARTS\tLAST ERROR")
		for _, s := range st.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.ID, s.State, s.PID, s.Restarts, s.LastError)
		}
	}
	if len(st.Members) > 0 {
		fmt.Fprintln(tw, "\nMEMBER\tADDRESS\tSTATE")
		for _, m := range st.Members {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, m.Addr, m.State)
		}
	}
	tw.Flush()
	if st.Raft != nil {
		fmt.Fprintf(w, "\nraft: %s, leader %s, commit index %d\n", st.Raft.State, st.Raft.Leader, st.Raft.CommitIndex)
		printNames(w, "RAFT NAME", "consistent and strong", st.Raft.Names, st.Raft.NamesOmitted)
	}
	if st.Eventual != nil {
		printNames(w, "EVENTUAL NAME", "eventual", st.Eventual.Names, st.Eventual.NamesOmitted)
	}
}

// scopeCounts lists name counts in scope order, zeros included.
func scopeCounts(m map[string]int) string {
	var parts []string
	for _, s := range []string{"local", "eventual", "consistent", "strong"} {
		if v, ok := m[s]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", s, v))
		}
	}
	return strings.Join(parts, " ")
}

// printNames prints one plane's names as a table, or how many were left
// out.
func printNames(w io.Writer, title, what string, names []node.NameStatus, omitted int) {
	if omitted > 0 {
		fmt.Fprintf(w, "%d %s names (listed up to %d)\n", omitted, what, node.MaxStatusNames)
	}
	if len(names) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\n%s\tSCOPE\tOWNER\n", title)
	for _, n := range names {
		scope := n.Scope
		if n.Pending {
			scope += " (pending)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n.Name, scope, n.PID)
	}
	tw.Flush()
}

// nonZero lists m's non-zero entries as sorted "key=value" pairs.
func nonZero[V int | uint64](m map[string]V) string {
	var parts []string
	for k, v := range m {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
