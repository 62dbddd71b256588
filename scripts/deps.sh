#!/usr/bin/env bash
# Installs the system packages the tests use, when missing: redis-server (and
# redis-cli, for the cluster tests), nginx (the load balancer test) and chromium
# (the browser tests, driven by playwright-core at /usr/bin/chromium).
# Debian/Ubuntu with apt-get; run as root or with sudo available.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# examples/rails: Rails, JWT, SQLite and WEBrick from Debian (no gems are fetched);
command -v rails >/dev/null 2>&1 || missing+=(ruby-rails)
ruby -rjwt -e '' >/dev/null 2>&1 || missing+=(ruby-jwt)
ruby -rsqlite3 -e '' >/dev/null 2>&1 || missing+=(ruby-sqlite3)
ruby -rwebrick -e '' >/dev/null 2>&1 || missing+=(ruby-webrick)
# Python virtualenvs (sdk-python's tests, test-python-compat): Debian's
# python3 lacks ensurepip without python3-venv.
command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts services on install where it can: the tests start their own.
$SUDO service redis-server stop >/dev/null 2>&1 || true
$SUDO service nginx stop >/dev/null 2>&1 || true
