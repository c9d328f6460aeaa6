package main

import (
	"io"
	"os"
)

var demoCommand = register(&command{
	name:     "demo",
	synopsis: "wippyd demo tour|cluster [-v]",
	help: `Runs a short tour of the process model that prints what happens.

tours:
  tour       one node: a spawn and its reply, a monitored crash and a restart
             by hand, a named process, a hot upgrade (what 'wippyd run'
             runs when there is no app)
  cluster    three nodes in this process, on 127.0.0.1 with ephemeral ports:
             they join, a remote spawn, a cluster-wide name, a message by
             name across nodes, a node stopped hard, monitors firing
             noconnection, the name taken over on another node (a few seconds)

flags:
  -v, --verbose   show the nodes' logs at info and above (tour: otherwise
                  errors only; cluster: otherwise none)
  -h, --help      print this help

exit status:
  0        the tour ran to its end
  1        it failed
  2        bad flags or arguments
  128+n    signal n cut it short
`,
})

// demoCmd is `wippyd demo tour|cluster`.
func demoCmd(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string, signals <-chan os.Signal) int {
	c := demoCommand
	fs := c.flags()
	var verbose bool
	fs.BoolVar(&verbose, "v", false, "")
	fs.BoolVar(&verbose, "verbose", false, "")
	if code := c.parse(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		return c.misuse(stderr, "which tour? tour or cluster")
	}
	name := fs.Arg(0)
	if code := c.parse(fs, fs.Args()[1:], stdout, stderr); code >= 0 { // flags after the name
		return code
	}
	if fs.NArg() > 0 {
		return c.misuse(stderr, "unexpected argument %q", fs.Arg(0))
	}
	switch name {
	case "tour":
		o := &runOptions{demo: true, environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}
		if verbose {
			o.sets = []string{"log.level=info"}
		}
		return runNode(o, signals)
	case "cluster":
		return clusterTour(stdout, stderr, verbose, signals)
	}
	return c.misuse(stderr, "no tour %q: tour or cluster", name)
}
