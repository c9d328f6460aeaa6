package entry

import (
	"fmt"
	"io"
	"io/fs"
)

// Size bounds of the files a source tree is made of. A Wippy app's YAML
// files are a few KiB and its Lua files rarely above a few hundred; the
// bounds keep one odd file from taking the node's memory at load.
const (
	MaxYAMLFile = 4 << 20  // bytes
	MaxLuaFile  = 16 << 20 // bytes
)

// ReadFile reads name from fsys, refusing anything but a regular file (a
// device such as /dev/zero, a named pipe, a socket or a directory would
// hang or flood the reader) and a file larger than limit bytes. Symbolic
// links are followed as fsys follows them.
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := regular(st, limit); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may have been replaced since the Stat: check what is open.
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(st, limit); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrFileTooLarge, limit)
	}
	return data, nil
}

func regular(st fs.FileInfo, limit int64) error {
	switch m := st.Mode(); {
	case m.IsDir():
		return fmt.Errorf("%w: a directory", ErrNotRegular)
	case !m.IsRegular():
		return fmt.Errorf("%w: %s", ErrNotRegular, fileType(m))
	case st.Size() > limit:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrFileTooLarge, st.Size(), limit)
	}
	return nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a plain file"
}
