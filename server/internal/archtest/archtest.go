// Package archtest checks the server's layering: its test reads the package
// table of docs/ARCHITECTURE.md and fails when a package of this module
// imports one the table does not allow, or a library outside the packages
// the table keeps it in. The package has no code of its own to ship.
package archtest
