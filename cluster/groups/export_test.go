package groups

// ForgetForTest drops this node's copy of node's members without telling
// anyone, as a lost delta would leave it behind.
func (g *Groups) ForgetForTest(node string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dispatch(g.table.Drop(node))
}
