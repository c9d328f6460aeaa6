// Command probe prints one line summarising a wippyd node's GET /v1/status,
// for test/docker/run.sh:
//
//	probe [-token-file FILE] 127.0.0.1:17961
//	node=n1 ready=true alive=n1,n2,n3 dead= other= raft=follower leader=n3 consistent=1 owners=coordinator={n2@app:processes|0x1a2b300001}
//
// dead lists dead and left members; other, members in another state
// (suspect, leaving) as name:state. owners lists the CONSISTENT names of
// the node's replica as name=pid, sorted by name, with each name
// query-escaped (so it holds no space, comma or "="); owners=? when the
// node lists none because it holds more than the status bound. It exits 1 (printing "unreachable") when the
// endpoint cannot be read. -token-file sends the admin token the file
// holds, which a node listening beyond the loopback asks for.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

type status struct {
	Node    string `json:"node"`
	Ready   bool   `json:"ready"`
	Members []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"members"`
	Raft *struct {
		State  string `json:"state"`
		Leader string `json:"leader"`
		Names  []struct {
			Name string `json:"name"`
			PID  string `json:"pid"`
		} `json:"names"`
		NamesOmitted int `json:"names_omitted"`
	} `json:"raft"`
	Names map[string]int `json:"names"`
}

func main() {
	tokenFile := flag.String("token-file", "", "file holding the admin token")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: probe [-token-file FILE] HOST:PORT")
		os.Exit(2)
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+flag.Arg(0)+"/v1/status", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *tokenFile != "" {
		token, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println("unreachable")
		os.Exit(1)
	}
	defer resp.Body.Close()
	var st status
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		fmt.Println("unreachable")
		os.Exit(1)
	}
	// Suspect and leaving members are still members: neither alive nor
	// dead here, listed as other.
	var alive, dead, other []string
	for _, m := range st.Members {
		switch m.State {
		case "alive":
			alive = append(alive, m.Name)
		case "dead", "left":
			dead = append(dead, m.Name)
		default:
			other = append(other, m.Name+":"+m.State)
		}
	}
	sort.Strings(alive)
	sort.Strings(dead)
	sort.Strings(other)
	state, leader, owners := "none", "", ""
	if st.Raft != nil {
		state, leader = st.Raft.State, st.Raft.Leader
		var list []string
		for _, n := range st.Raft.Names {
			list = append(list, url.QueryEscape(n.Name)+"="+n.PID)
		}
		sort.Strings(list)
		owners = strings.Join(list, ",")
		if st.Raft.NamesOmitted > 0 {
			owners = "?"
		}
	}
	fmt.Printf("node=%s ready=%t alive=%s dead=%s other=%s raft=%s leader=%s consistent=%d owners=%s\n",
		st.Node, st.Ready, strings.Join(alive, ","), strings.Join(dead, ","), strings.Join(other, ","), state, leader, st.Names["consistent"], owners)
}
