//go:build unix

package runner

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in a process group of its own, so that killGroup
// also ends what it starts (taskset execs, the server may fork nothing, but a
// shell wrapper would).
func setProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// terminate asks p to stop (SIGTERM: the server shuts down gracefully).
func terminate(p *os.Process) { _ = p.Signal(syscall.SIGTERM) }

// killGroup kills p's process group.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
