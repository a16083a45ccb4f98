#!/usr/bin/env bash
# All set-up for GridCity on Debian 12, idempotent and quick when nothing changed:
#   scripts/setup.sh            system packages for running, the .venv, translations
#   scripts/setup.sh --test     also what the test suite needs (headless Chromium)
#   scripts/setup.sh --postgis  also PostGIS for PostgreSQL 15 (the production database tests)
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian packages GridCity needs, in one place.
RUN_PACKAGES=(python3 python3-venv python3-dev gcc gdal-bin libgdal32 libgeos-c1v5 libproj25
              libsqlite3-mod-spatialite gettext fonts-wqy-microhei)
# fonts-wqy-microhei: the CJK font the photo watermark and the browser tests draw with.
TEST_PACKAGES=(chromium chromium-driver)
POSTGIS_PACKAGES=(postgresql-15-postgis-3)
# Node.js and npm install the front-end packages (package.json); a machine that has an npm
# of its own (a newer Node.js) keeps it.
NODE_PACKAGES=(nodejs npm)

packages=("${RUN_PACKAGES[@]}")
command -v npm >/dev/null || packages+=("${NODE_PACKAGES[@]}")
for arg in "$@"; do
  case "$arg" in
    --test) packages+=("${TEST_PACKAGES[@]}") ;;
    --postgis) packages+=("${POSTGIS_PACKAGES[@]}") ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# 1. Debian packages: install only what is missing.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup: these Debian packages are missing and I am not root: ${missing[*]}" >&2
    echo "       run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The virtualenv, from Debian's python3: its sqlite3 module can load SpatiaLite.
PY=/usr/bin/python3
if [ ! -x .venv/bin/python ] || [ "$(readlink -f .venv/bin/python)" != "$(readlink -f $PY)" ]; then
  say "creating .venv from $PY"
  rm -rf .venv
  "$PY" -m venv .venv
fi
if ! .venv/bin/python - <<'PYCHECK' 2>/dev/null
import sqlite3
c = sqlite3.connect(":memory:")
c.enable_load_extension(True)
c.load_extension("mod_spatialite")
PYCHECK
then
  cat >&2 <<'MSG'
setup: this Python's sqlite3 cannot load the SpatiaLite extension (mod_spatialite).
       GridCity needs Debian's /usr/bin/python3 (pyenv and some other builds disable
       extension loading) and the package libsqlite3-mod-spatialite:
         sudo apt-get install -y python3 python3-venv libsqlite3-mod-spatialite
         rm -rf .venv && make run
       Or use PostGIS instead: set DATABASE_URL=postgis://user@host/db
MSG
  exit 1
fi

# 3. Python dependencies from pyproject.toml, reinstalled only when it changes.
stamp=.venv/.gridcity-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python dependencies (pyproject.toml)"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python - <<'PYDEPS'
import subprocess, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *reqs],
                      stderr=subprocess.PIPE, text=True)
for line in done.stderr.splitlines():
    if not line.startswith("WARNING: Location"):
        print(line, file=sys.stderr)
sys.exit(done.returncode)
PYDEPS
  echo "$want" > "$stamp"
fi

# 4. Front-end packages from the npm registry (package-lock.json), reinstalled when it changes:
#    htmx, Leaflet.markercluster, and axe-core for the browser tests' accessibility check.
node_stamp=node_modules/.gridcity-lock
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$node_stamp" 2>/dev/null)" != "$want" ]; then
  say "installing front-end packages (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > "$node_stamp"
fi

# 5. Translations: compile when a .po is newer than its .mo.
for po in $(find locale -name '*.po' 2>/dev/null); do
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    msgfmt --check -o "$mo" "$po"
  fi
done
