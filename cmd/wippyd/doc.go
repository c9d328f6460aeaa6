// Command wippyd runs a wippyd node.
//
//	wippyd run     [--src DIR] [--config FILE] [--set KEY=VALUE]... [-x ENTRY [--host HOST]] [ARGS...]
//	wippyd bench   [--quick] [--json] [--rounds N]
//	wippyd status  [--addr HOST:PORT]
//	wippyd version
//
// It turns flags, the config file and WIPPY_* variables into a node.Config,
// builds the node (package node; package bench only for `wippyd bench`),
// handles SIGINT/SIGTERM, and maps how a `run -x` program ended to the exit
// status (SPEC section 2).
package main
