package client

import (
	"fmt"
	"slices"
	"testing"
)

func TestSubSet(t *testing.T) {
	var m subSet
	if m.get("a") != nil || m.len() != 0 || len(m.list()) != 0 {
		t.Fatal("zero subSet not empty")
	}
	want := map[string]*sub{}
	check := func(step string) {
		t.Helper()
		if m.len() != len(want) {
			t.Fatalf("%s: len %d, want %d", step, m.len(), len(want))
		}
		for ch, s := range want {
			if m.get(ch) != s {
				t.Fatalf("%s: get(%q) = %p, want %p", step, ch, m.get(ch), s)
			}
		}
		var got []string
		for s := range m.all() {
			got = append(got, s.ch)
		}
		listed := m.list()
		if len(got) != len(want) || len(listed) != len(want) {
			t.Fatalf("%s: all %d, list %d, want %d", step, len(got), len(listed), len(want))
		}
		for _, s := range listed {
			if want[s.ch] != s || !slices.Contains(got, s.ch) {
				t.Fatalf("%s: %q listed but not in the set", step, s.ch)
			}
		}
	}
	// Past fewSubs (the slice becomes a map) and back down.
	for i := range 2*fewSubs + 3 {
		s := &sub{ch: fmt.Sprint("ch", i)}
		m.add(s)
		want[s.ch] = s
		check(fmt.Sprint("add ", i))
		if (m.many != nil) != (i >= fewSubs) {
			t.Fatalf("after %d subscriptions: map %v", i+1, m.many != nil)
		}
	}
	m.remove("missing")
	check("remove missing")
	for i := range 2*fewSubs + 3 {
		ch := fmt.Sprint("ch", i)
		m.remove(ch)
		delete(want, ch)
		check("remove " + ch)
	}
	// The slice: removing from the middle keeps the others.
	m = subSet{}
	want = map[string]*sub{}
	for _, ch := range []string{"a", "b", "c", "d"} {
		want[ch] = &sub{ch: ch}
		m.add(want[ch])
	}
	m.remove("b")
	delete(want, "b")
	check("remove b")
	if m.get("b") != nil {
		t.Fatal("b still there")
	}
	// list is a copy: removing while going through it is safe.
	for _, s := range m.list() {
		m.remove(s.ch)
	}
	if m.len() != 0 || m.few != nil {
		t.Fatalf("not empty after removing every listed one: %d", m.len())
	}
}
