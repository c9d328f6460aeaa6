package raftreg

import (
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/wippyd/wippyd/internal/msgp"
)

// The codec writes hashicorp/raft's RPC structs field by field, so a field
// added upstream would be dropped without a word. Every field of every
// struct the raft stream carries is set to a value of its own (by
// reflection, so a new field is set too) and must survive the round trip;
// a field of a type the filler does not know fails the test as well.
func TestRaftCodecCarriesEveryField(t *testing.T) {
	codecs := []codec{
		readsNew(putAppendEntriesRequest, getAppendEntriesRequest),
		readsInto(putAppendEntriesResponse, getAppendEntriesResponse),
		readsNew(putRequestVoteRequest, getRequestVoteRequest),
		readsInto(putRequestVoteResponse, getRequestVoteResponse),
		readsNew(putRequestPreVoteRequest, getRequestPreVoteRequest),
		readsInto(putRequestPreVoteResponse, getRequestPreVoteResponse),
		readsNew(func(w *msgp.Writer, q *raft.InstallSnapshotRequest) { putInstallSnapshotRequest(w, 1, q) },
			func(r *msgp.Reader) *raft.InstallSnapshotRequest { _, q := getInstallSnapshotRequest(r); return q }),
		readsInto(putInstallSnapshotResponse, getInstallSnapshotResponse),
		readsNew(putTimeoutNowRequest, getTimeoutNowRequest),
		readsInto(putTimeoutNowResponse, getTimeoutNowResponse),
	}
	for _, c := range codecs {
		v := c.zero()
		name := v.Type().Name()
		var f filler
		f.fill(t, name, v)
		var w msgp.Writer
		c.put(&w, v)
		r := msgp.NewReader(w.B)
		got := c.get(&r)
		if err := r.End(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if path := firstDifference(name, v, got); path != "" {
			t.Errorf("%s is not carried by the raft stream's codec (raftcodec.go): write and read it there", path)
		}
	}
}

// codec is the writer and reader of one RPC struct, over reflect.Values of
// the struct.
type codec struct {
	zero func() reflect.Value // a settable zero struct
	put  func(*msgp.Writer, reflect.Value)
	get  func(*msgp.Reader) reflect.Value
}

// readsNew is the codec of a struct whose reader returns a new one.
func readsNew[T any](put func(*msgp.Writer, *T), get func(*msgp.Reader) *T) codec {
	return codec{
		zero: func() reflect.Value { return reflect.ValueOf(new(T)).Elem() },
		put:  func(w *msgp.Writer, v reflect.Value) { put(w, v.Addr().Interface().(*T)) },
		get:  func(r *msgp.Reader) reflect.Value { return reflect.ValueOf(get(r)).Elem() },
	}
}

// readsInto is the codec of a struct whose reader fills one in.
func readsInto[T any](put func(*msgp.Writer, *T), get func(*msgp.Reader, *T)) codec {
	return readsNew(put, func(r *msgp.Reader) *T {
		p := new(T)
		get(r, p)
		return p
	})
}

// filler sets every field to a value no other field has.
type filler struct{ n int64 }

func (f *filler) fill(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	f.n++
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(time.Unix(0, 1_700_000_000_000_000_000+f.n)))
	case v.Type() == reflect.TypeOf([]byte(nil)):
		v.SetBytes([]byte{byte(f.n), 'x'})
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.CanInt():
		v.SetInt(f.n)
	case v.CanUint():
		v.SetUint(uint64(f.n))
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				t.Fatalf("%s.%s is unexported: the raft codec cannot carry it, see what it is for", path, sf.Name)
			}
			f.fill(t, path+"."+sf.Name, v.Field(i))
		}
	case v.Kind() == reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(t, path, v.Elem())
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			f.fill(t, path, v.Index(i))
		}
	default:
		t.Fatalf("%s is a %s, which this test cannot fill: the raft codec and this test need to learn it", path, v.Type())
	}
}

// firstDifference names the first field where a and b differ, "" if none.
func firstDifference(path string, a, b reflect.Value) string {
	switch {
	case a.Kind() == reflect.Struct && a.Type() != reflect.TypeOf(time.Time{}):
		for i := range a.NumField() {
			if p := firstDifference(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); p != "" {
				return p
			}
		}
		return ""
	case a.Kind() == reflect.Pointer && !a.IsNil() && !b.IsNil():
		return firstDifference(path, a.Elem(), b.Elem())
	case a.Kind() == reflect.Slice && a.Type().Elem().Kind() != reflect.Uint8 && a.Len() == b.Len():
		for i := range a.Len() {
			if p := firstDifference(path, a.Index(i), b.Index(i)); p != "" {
				return p
			}
		}
		return ""
	case reflect.DeepEqual(a.Interface(), b.Interface()):
		return ""
	}
	return path
}
