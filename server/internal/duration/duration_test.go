package duration

import (
	"encoding/json"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDurationForms(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`"300s"`: 300 * time.Second,
		`"5m"`:   5 * time.Minute,
		`30`:     30 * time.Second,
		`"1.5"`:  1500 * time.Millisecond,
	} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.D() != want {
			t.Errorf("json %s = %v, %v; want %v", in, d, err, want)
		}
		var y Duration
		if err := yaml.Unmarshal([]byte(in), &y); err != nil || y.D() != want {
			t.Errorf("yaml %s = %v, %v; want %v", in, y, err, want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("45s")); err != nil || d.D() != 45*time.Second {
		t.Errorf("text 45s = %v, %v", d, err)
	}
	if err := json.Unmarshal([]byte(`"soon"`), &d); err == nil {
		t.Error(`json "soon": want an error`)
	}
	out, err := json.Marshal(Duration(90 * time.Second))
	if err != nil || string(out) != `"1m30s"` {
		t.Errorf("marshal 90s = %s, %v", out, err)
	}
}
