package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/wippyd/wippyd/node"
)

// Every command prints its help to stdout with status 0 when asked
// (--help, -h, `wippyd help COMMAND`), and a one-line usage with the
// problem to stderr with status 2 when misused. Flags are spelled with two
// dashes but for the one-letter ones (-x, -v, -h); Go's flag package
// accepts either spelling.

const usage = `wippyd runs Wippy apps: processes in Lua or Go that share nothing and
talk only by messages, on one node or on a cluster of nodes.

usage: wippyd COMMAND [ARGS...]

commands:
  run       run a node with an app (without one, the built-in tour);
            with -x, run one entry as a program and exit with its status
  demo      tours: demo tour (one node), demo cluster (three nodes)
  status    print a summary of a running node
  bench     run the built-in benchmark suite
  version   print the version
  help      print this help, or a command's: wippyd help run

'wippyd COMMAND --help' gives a command's flags, arguments and exit statuses.
`

// command is one subcommand: its usage line, its help and what it does.
type command struct {
	name     string
	synopsis string // "wippyd run [--src DIR] ..."
	help     string // after the synopsis: what it does, flags, ARGS, exit statuses
}

// printHelp prints c's whole help.
func (c *command) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s", c.synopsis, c.help)
}

// misuse reports a wrong use of c on stderr and returns status 2.
func (c *command) misuse(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "wippyd %s: %s\nusage: %s\nRun 'wippyd %s --help' for more.\n",
		c.name, fmt.Sprintf(format, args...), c.synopsis, c.name)
	return 2
}

// flags returns an empty flag set for c: parse it with c.parse.
func (c *command) flags() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // c.parse reports, in this command's words
	fs.Usage = func() {}
	return fs
}

// parse parses args with fs. It returns -1 when the command goes on, else
// the exit status: 0 after printing the help, 2 after reporting misuse.
func (c *command) parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return -1
	case errors.Is(err, flag.ErrHelp):
		c.printHelp(stdout)
		return 0
	}
	return c.misuse(stderr, "%s", flagError(err))
}

// flagRE finds a flag name in the flag package's messages ("-src").
var flagRE = regexp.MustCompile(`(^|[\s:])-{1,2}([A-Za-z][\w-]*)`)

// flagError rewrites the flag package's message in this tool's spelling:
// "flag provided but not defined: -bogus" becomes "unknown flag --bogus".
func flagError(err error) string {
	text := err.Error()
	if name, ok := strings.CutPrefix(text, "flag provided but not defined: "); ok {
		text = "unknown flag " + name
	}
	return flagRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := flagRE.FindStringSubmatch(m)
		dashes := "--"
		if len(sub[2]) == 1 {
			dashes = "-"
		}
		return sub[1] + dashes + sub[2]
	})
}

// commands is every subcommand, for `wippyd help COMMAND`.
var commands = map[string]*command{}

func register(c *command) *command {
	commands[c.name] = c
	return c
}

// helpCmd is `wippyd help [COMMAND]`.
func helpCmd(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usage)
		return 0
	case len(args) > 1:
		fmt.Fprintf(stderr, "wippyd help: one command at a time\n%s", usage)
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wippyd help: unknown command %q\n%s", args[0], usage)
		return 2
	}
	c.printHelp(stdout)
	return 0
}

var versionCommand = register(&command{
	name:     "version",
	synopsis: "wippyd version",
	help: `Prints the version. It takes no flags or arguments.

exit status:
  0   printed
  2   a flag or an argument was given
`,
})

func versionCmd(args []string, stdout, stderr io.Writer) int {
	c := versionCommand
	fs := c.flags()
	if code := c.parse(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return c.misuse(stderr, "unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintf(stdout, "wippyd %s\n", node.Version)
	return 0
}
