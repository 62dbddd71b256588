#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (func FuzzXxx in *_test.go, in
# every module) for FUZZTIME each (default 10s). Not part of `make test`.
# A failure leaves its input under the package's testdata/fuzz/ for
# `go test -run=FuzzXxx/<id>` to reproduce; commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
n=0
failed=()
while IFS=: read -r file name; do
	dir=$(dirname "$file")
	mod=${dir%%/*}
	pkg=./${dir#"$mod"/}
	[ "$pkg" = "./$mod" ] && pkg=.
	echo "== $mod $pkg $name ($fuzztime)"
	if ! (cd "$mod" && go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"); then
		failed+=("$mod/$pkg $name")
	fi
	n=$((n + 1))
done < <(grep -rhoE --include='*_test.go' -H '^func (Fuzz[A-Za-z0-9_]+)\(' server sdk-go bench 2>/dev/null |
	sed -E 's/:func (Fuzz[A-Za-z0-9_]+)\(/:\1/' | sort -u)
echo "$n fuzz targets run, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
