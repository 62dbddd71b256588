//go:build !unix

package runner

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing: this platform has no process groups to kill.
func setProcessGroup(*exec.Cmd) {}

// terminate asks p to stop; without SIGTERM that is a kill.
func terminate(p *os.Process) { _ = p.Kill() }

// killGroup kills p.
func killGroup(p *os.Process) { _ = p.Kill() }
