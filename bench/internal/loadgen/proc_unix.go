//go:build unix

package loadgen

import (
	"fmt"
	"syscall"
	"time"
)

// RaiseNoFile raises the soft limit of open files to the hard limit and
// returns it; want is how many the run needs (an error when the hard limit is
// lower).
func RaiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raise RLIMIT_NOFILE: %w", err)
		}
	}
	if lim.Cur < want {
		return lim.Cur, fmt.Errorf("RLIMIT_NOFILE is %d, the run needs about %d open files (raise the hard limit: ulimit -Hn)", lim.Cur, want)
	}
	return lim.Cur, nil
}

// SelfCPU returns the user+system CPU time this process and its ended
// children (a publisher process) have used.
func SelfCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			return 0
		}
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return total
}
