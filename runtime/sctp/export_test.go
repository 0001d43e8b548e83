package sctp

// isRejectedAny reports whether an association rejected for MaxAssocs is
// still remembered.
func (e *endpoint) isRejectedAny() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.rejected) > 0
}
