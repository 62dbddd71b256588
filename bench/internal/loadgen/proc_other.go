//go:build !unix

package loadgen

import "time"

// RaiseNoFile reports want: this platform has no per-process limit of open
// files to raise.
func RaiseNoFile(want uint64) (uint64, error) { return want, nil }

// SelfCPU returns 0: the CPU time of this process is not read on this
// platform, so the report's loadgen CPU columns read 0. (The bench measures
// on Linux: the server's CPU and memory come from /proc, CPUs are pinned with
// taskset; elsewhere it builds and runs, with those columns empty.)
func SelfCPU() time.Duration { return 0 }
