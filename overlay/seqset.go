package overlay

// seqSet is a set of one author's message seqs: every seq up to hw, plus
// the ones above it in above. Adding hw+1 advances hw over what above holds,
// so a gap-free log costs one integer. Not safe for concurrent use.
type seqSet struct {
	hw    uint64
	above map[uint64]struct{}
}

// has reports whether q is in the set; 0 is never a valid seq and counts
// as present.
func (s *seqSet) has(q uint64) bool {
	if q <= s.hw {
		return true
	}
	_, ok := s.above[q]
	return ok
}

// add puts q in the set and reports whether it was new.
func (s *seqSet) add(q uint64) bool {
	if s.has(q) {
		return false
	}
	if q != s.hw+1 {
		if s.above == nil {
			s.above = make(map[uint64]struct{})
		}
		s.above[q] = struct{}{}
		return true
	}
	s.hw = q
	for {
		if _, ok := s.above[s.hw+1]; !ok {
			break
		}
		delete(s.above, s.hw+1)
		s.hw++
	}
	if len(s.above) == 0 {
		s.above = nil
	}
	return true
}

// max returns the largest seq in the set (0 when empty).
func (s *seqSet) max() uint64 {
	m := s.hw
	for q := range s.above {
		m = max(m, q)
	}
	return m
}

// clone returns a copy of s.
func (s *seqSet) clone() *seqSet {
	c := &seqSet{hw: s.hw}
	if len(s.above) > 0 {
		c.above = make(map[uint64]struct{}, len(s.above))
		for q := range s.above {
			c.above[q] = struct{}{}
		}
	}
	return c
}
