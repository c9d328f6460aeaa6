package transport

import "testing"

func TestStreamNames(t *testing.T) {
	want := map[StreamType]string{StreamCluster: "cluster", StreamRaft: "raft", StreamRegistry: "registry",
		StreamNames: "names", StreamGroups: "groups", StreamObserver: "observer", 7: "stream(7)"}
	for s, name := range want {
		if got := s.String(); got != name {
			t.Errorf("StreamType(%d).String() = %q, want %q", uint8(s), got, name)
		}
	}
}
