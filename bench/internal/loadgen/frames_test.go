package loadgen

import (
	"encoding/json"
	"testing"
)

func TestClassify(t *testing.T) {
	data := appendData(nil, 1700000000123456789, 7, 3)
	var decoded map[string]any
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("data %s is not JSON: %v", data, err)
	}
	pub := []byte(`{"push":{"channel":"bench","pub":{"data":` + string(data) + `,"offset":3}}}`)
	for _, tc := range []struct {
		line string
		kind lineKind
		ts   int64
	}{
		{`{}`, linePing, 0},
		{string(pub), linePub, 1700000000123456789},
		{`{"push":{"channel":"c","pub":{"data":{"x":1}}}}`, linePub, 0},
		{`{"push":{"channel":"c","unsubscribe":{"code":2500}}}`, lineUnsubscribe, 0},
		{`{"push":{"disconnect":{"code":3008,"reason":"slow"}}}`, lineDisconnect, 0},
		{`{"push":{"channel":"c","join":{"info":{"user":"1","client":"x"}}}}`, lineOther, 0},
		{`{"id":2,"subscribe":{}}`, lineOther, 0},
	} {
		kind, ts := classify([]byte(tc.line))
		if kind != tc.kind || ts != tc.ts {
			t.Errorf("classify(%s) = %d, %d; want %d, %d", tc.line, kind, ts, tc.kind, tc.ts)
		}
	}
}

func TestNextLine(t *testing.T) {
	msg := []byte("{\"a\":1}\r\n\n  {}  \n{\"b\":2}")
	var got []string
	for rest := msg; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		got = append(got, string(line))
	}
	want := []string{`{"a":1}`, ``, `{}`, `{"b":2}`}
	if len(got) != len(want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lines %q, want %q", got, want)
		}
	}
}

func TestRecorderMergesBatches(t *testing.T) {
	r := NewRecorder()
	for g := range 3 {
		b := r.NewBatch(g)
		for i := range 1000 {
			b.Add(int64(i+1) * 1000) // 1..1000 µs
		}
		b.Flush()
	}
	h := r.Merge()
	if h.TotalCount() != 3000 {
		t.Fatalf("count %d", h.TotalCount())
	}
	p := Summarize(h)
	if p.P50 < 0.49 || p.P50 > 0.51 || p.Max < 0.99 || p.Max > 1.01 {
		t.Fatalf("percentiles %+v", p)
	}
	if Summarize(NewRecorder().Merge()) != nil {
		t.Fatal("empty histogram should summarize to nil")
	}
}

func TestChannelNamer(t *testing.T) {
	f, n := channelNamer("user#%d", 10)
	if n != 10 || f(3) != "user#3" {
		t.Fatalf("%d %q", n, f(3))
	}
	f, n = channelNamer("shared", 10)
	if n != 1 || f(3) != "shared" {
		t.Fatalf("%d %q", n, f(3))
	}
}

func TestProcReaders(t *testing.T) {
	if len(AllowedCPUs()) == 0 {
		t.Fatal("no allowed CPUs")
	}
	if rss, err := ProcRSS(selfPID()); err != nil || rss <= 0 {
		t.Fatalf("RSS %d %v", rss, err)
	}
	if _, err := ProcCPU(selfPID()); err != nil {
		t.Fatal(err)
	}
	before := cpuTimes()
	if len(before) == 0 {
		t.Fatal("no CPUs in /proc/stat")
	}
}
