// Command centrifuge is the Centrifuge real-time messaging server and its
// tools (genconfig, checkconfig, gentoken, subtoken). See internal/app.Main.
package main

import (
	"os"

	"github.com/centrifugehq/centrifuge/server/internal/app"
)

func main() { os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr)) }
