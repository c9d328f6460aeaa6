package runtime

// NameCount returns the number of registered local names.
func (rt *Runtime) NameCount() int {
	rt.names.mu.RLock()
	defer rt.names.mu.RUnlock()
	return len(rt.names.m)
}

// Hosts returns the configured hosts, in configuration order.
func (rt *Runtime) Hosts() []HostConfig {
	return append([]HostConfig(nil), rt.cfg.Hosts...)
}
