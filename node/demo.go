package node

import (
	"embed"
	"io/fs"
)

//go:embed demo
var demoFiles embed.FS

// DemoEntry is the entry a plain `wippyd run` runs from the demo app.
const DemoEntry = "app:tour"

// DemoApp returns the embedded demo app's files (load with entry.LoadFS).
func DemoApp() fs.FS {
	sub, err := fs.Sub(demoFiles, "demo")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	return sub
}
