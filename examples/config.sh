#!/usr/bin/env bash
# Writes, on first run, examples/secrets.local.env (fresh secrets and keys for
# both apps) and examples/centrifuge.local.yaml (the server config of
# centrifuge.yaml.tmpl: server on :8000, Django on :8001, Rails on :8002).
# Ports can be changed with SERVER_PORT, DJANGO_PORT, RAILS_PORT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secrets=$here/secrets.local.env
config=$here/centrifuge.local.yaml
port=${SERVER_PORT:-8000}
django_port=${DJANGO_PORT:-8001}
rails_port=${RAILS_PORT:-8002}

rand() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }

if [ ! -f "$secrets" ]; then
  umask 077
  cat > "$secrets" <<ENV
# Written by examples/config.sh: the secrets the server config and the apps share.
DJANGO_SECRET=$(rand)
DJANGO_API_KEY=$(rand)
BLOG_PROXY_KEY=$(rand)
RAILS_SECRET=$(rand)
RAILS_API_KEY=$(rand)
ENV
  echo "wrote $secrets"
fi
# shellcheck disable=SC1090
. "$secrets"

export PORT=$port DJANGO_URL="http://127.0.0.1:$django_port" CHECK_LIFETIME=${CHECK_LIFETIME:-30s} CHECK_INTERVAL=${CHECK_INTERVAL:-5s}
export ORIGINS="[\"http://127.0.0.1:$django_port\", \"http://localhost:$django_port\", \"http://127.0.0.1:$rails_port\", \"http://localhost:$rails_port\"]"
export DJANGO_SECRET DJANGO_API_KEY RAILS_SECRET RAILS_API_KEY PROXY_KEY=$BLOG_PROXY_KEY
python3 - "$here/centrifuge.yaml.tmpl" "$config" <<'PY'
import os, string, sys
text = string.Template(open(sys.argv[1]).read()).substitute(os.environ)
open(sys.argv[2], "w").write(text)
PY
echo "wrote $config (server :$port, django :$django_port, rails :$rails_port)"
