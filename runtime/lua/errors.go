package lua

import "errors"

var (
	// ErrConfig is returned by Config.Validate and New for a bad configuration.
	ErrConfig = errors.New("lua: invalid config")
	// ErrLayout is returned by New when the gopher-lua in the build does not
	// have the call-frame layout this package was written against.
	ErrLayout = errors.New("lua: unexpected gopher-lua layout")
	// ErrEntry is returned for an entry the catalog does not know or cannot
	// load.
	ErrEntry = errors.New("lua: entry not available")
	// ErrCompile wraps a syntax error in an entry's source.
	ErrCompile = errors.New("lua: compile error")
	// ErrMethod is returned when an entry's chunk does not provide its method.
	ErrMethod = errors.New("lua: method not found")
)
