package registry

// CreateFieldsHits is how many creates of the store's kind took their
// managedFields from the memo.
func CreateFieldsHits(s *Store) int {
	if s.createFields == nil {
		return 0
	}
	s.createFields.mu.Lock()
	defer s.createFields.mu.Unlock()
	return s.createFields.hits
}
