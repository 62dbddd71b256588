package client

import "iter"

// fewSubs is how many subscriptions a connection keeps in a slice before it
// keeps them in a map.
const fewSubs = 8

// subSet is a connection's subscriptions by channel. Most connections have
// a few: a slice of them, searched in order, costs a connection with one
// subscription 8 bytes where a map costs about 250; beyond fewSubs they move
// to a map. The zero value is empty. Guarded by the client's mu.
type subSet struct {
	few  []*sub
	many map[string]*sub
}

// get returns the subscription to ch, nil if there is none.
func (m *subSet) get(ch string) *sub {
	if m.many != nil {
		return m.many[ch]
	}
	for _, s := range m.few {
		if s.ch == ch {
			return s
		}
	}
	return nil
}

// add adds s, which must not be in the set (no subscription to s.ch).
func (m *subSet) add(s *sub) {
	switch {
	case m.many != nil:
		m.many[s.ch] = s
	case len(m.few) < fewSubs:
		m.few = append(m.few, s)
	default:
		m.many = make(map[string]*sub, 2*fewSubs)
		for _, f := range m.few {
			m.many[f.ch] = f
		}
		m.many[s.ch] = s
		m.few = nil
	}
}

// remove removes the subscription to ch, if any.
func (m *subSet) remove(ch string) {
	if m.many != nil {
		delete(m.many, ch)
		return
	}
	for i, s := range m.few {
		if s.ch == ch {
			last := len(m.few) - 1
			m.few[i] = m.few[last]
			m.few[last] = nil
			m.few = m.few[:last]
			if last == 0 {
				m.few = nil
			}
			return
		}
	}
}

// len is the number of subscriptions.
func (m *subSet) len() int {
	if m.many != nil {
		return len(m.many)
	}
	return len(m.few)
}

// list returns the subscriptions in a new slice (in no particular order),
// so the caller may change the set while going through them.
func (m *subSet) list() []*sub {
	out := make([]*sub, 0, m.len())
	if m.many != nil {
		for _, s := range m.many {
			out = append(out, s)
		}
		return out
	}
	return append(out, m.few...)
}

// all yields the subscriptions (in no particular order); the set must not
// change meanwhile.
func (m *subSet) all() iter.Seq[*sub] {
	return func(yield func(*sub) bool) {
		if m.many != nil {
			for _, s := range m.many {
				if !yield(s) {
					return
				}
			}
			return
		}
		for _, s := range m.few {
			if !yield(s) {
				return
			}
		}
	}
}
