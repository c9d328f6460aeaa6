package transport

// StreamObserver carries the admin endpoint's observer queries between
// nodes (node/observer_mesh.go): a request for one node's view or an
// action on one of its processes, and its reply. Like every stream it
// flows only between members of the cluster. Part of the wire protocol:
// never renumber it.
const StreamObserver StreamType = 6
