// Command probe prints one line summarising a wippyd node's GET /v1/status,
// for test/docker/run.sh:
//
//	probe 127.0.0.1:17961
//	node=n1 ready=true alive=n1,n2,n3 dead= raft=follower leader=n3 consistent=1
//
// It exits 1 (printing "unreachable") when the endpoint cannot be read.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
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
	} `json:"raft"`
	Names map[string]int `json:"names"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe HOST:PORT")
		os.Exit(2)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + os.Args[1] + "/v1/status")
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
	var alive, dead []string
	for _, m := range st.Members {
		if m.State == "alive" {
			alive = append(alive, m.Name)
		} else {
			dead = append(dead, m.Name)
		}
	}
	sort.Strings(alive)
	sort.Strings(dead)
	state, leader := "none", ""
	if st.Raft != nil {
		state, leader = st.Raft.State, st.Raft.Leader
	}
	fmt.Printf("node=%s ready=%t alive=%s dead=%s raft=%s leader=%s consistent=%d\n",
		st.Node, st.Ready, strings.Join(alive, ","), strings.Join(dead, ","), state, leader, st.Names["consistent"])
}
