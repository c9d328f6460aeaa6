// Command wippyd runs a wippyd node.
//
//	wippyd run     [--src DIR] [--watch] [--config FILE] [--set KEY=VALUE]... [-v] [-x ENTRY [--host HOST]] [ARGS...]
//	wippyd demo    tour|cluster [-v]
//	wippyd status  [--addr HOST:PORT] [--config FILE] [--token-file FILE]
//	wippyd bench   [--quick] [--json] [--rounds N] [--only PARTS]
//	wippyd version
//	wippyd help    [COMMAND]
//
// Each command's help (cli.go) is printed by --help, -h or `wippyd help
// COMMAND` to stdout with status 0; misuse prints a usage line to stderr
// with status 2. testdata/cli holds the golden transcripts of both.
//
// It turns flags, the config file and WIPPY_* variables into a node.Config,
// builds the node (package node; package bench only for `wippyd bench`),
// handles SIGINT/SIGTERM, and maps how a `run -x` program ended to the exit
// status (SPEC section 2).
package main
