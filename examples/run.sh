#!/usr/bin/env bash
# Runs the examples on this machine: the Centrifuge server on :8000 with
# examples/centrifuge.local.yaml (written with fresh secrets on first run by
# config.sh), and the apps: Django on :8001, Rails on :8002.
#   examples/run.sh django | rails | all
# `make example-django`, `make example-rails` and `make examples` call it after
# building what it needs (bin/centrifuge, sdk-js, the Django virtualenv).
# Ctrl-C stops everything it started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
which=${1:-all}
case $which in django|rails|all) ;; *) echo "usage: $0 django|rails|all" >&2; exit 2 ;; esac

"$here/config.sh"
# shellcheck disable=SC1091
. "$here/secrets.local.env"
server=http://127.0.0.1:${SERVER_PORT:-8000}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$repo/bin/centrifuge" serve --config "$here/centrifuge.local.yaml" &
pids+=($!)

if [ "$which" != rails ]; then
  (
    cd "$here/django"
    export CENTRIFUGE_ADDRESS=$server CENTRIFUGE_API_KEY=$DJANGO_API_KEY CENTRIFUGE_SECRET=$DJANGO_SECRET BLOG_PROXY_KEY
    .venv/bin/python manage.py migrate --noinput -v 0
    .venv/bin/python manage.py seed_blog
    exec .venv/bin/python manage.py runserver "127.0.0.1:${DJANGO_PORT:-8001}"
  ) &
  pids+=($!)
fi
if [ "$which" != django ]; then
  (
    cd "$here/rails"
    export CENTRIFUGE_ADDRESS=$server CENTRIFUGE_API_KEY=$RAILS_API_KEY CENTRIFUGE_SECRET=$RAILS_SECRET
    if [ ! -f db/development.sqlite3 ]; then bin/rails db:schema:load && bin/rails db:seed; fi
    exec bin/rails server -u webrick -b 127.0.0.1 -p "${RAILS_PORT:-8002}" -P tmp/server.pid
  ) &
  pids+=($!)
fi

echo "examples: Django http://127.0.0.1:${DJANGO_PORT:-8001}/  Rails http://127.0.0.1:${RAILS_PORT:-8002}/" \
     "(users alice, bob, carol; password \"password\"; Django admin: admin/password)"
wait -n
