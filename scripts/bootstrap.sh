#!/usr/bin/env bash
# Prepare a fresh Debian/Ubuntu machine: system packages, then a venv with rxedge installed.
# Needs only git, make and python3 (3.11 or newer) to be there. Safe to run again: it installs
# only what is missing, and a venv that cannot run pip is made again rather than trusted.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${RXEDGE_VENV:-.venv}

if ! command -v "$PYTHON" >/dev/null; then
    echo "bootstrap: $PYTHON not found: install Python 3.11 or newer (apt-get install python3)" >&2
    exit 1
fi
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: rxedge needs Python 3.11 or newer; $PYTHON is $version" >&2
    exit 1
fi

# The venv module's pip (ensurepip) and Python.h ship in packages of their own on Debian: the
# versioned ones for the Python found here (python3.11-venv), else the distribution's default.
# gcc and Python.h build pyscard, which has no Linux wheel. systemd only for systemd-analyze: the
# tests check the unit file with it (no systemd needs to run); openssl makes the test CA and
# certificates for the TLS tests; procps gives ps and pgrep to whoever looks at the daemon;
# faketime runs the CLI and the daemon at another date and time in the site-calendar tests;
# chromium is the browser the web page's tests drive (Playwright with its executable_path: no
# browser is downloaded).
# sqlite3 is the backup unit's copier, run by its test.
# nats-server runs the clustered centre of the NATS tests and `make scale-bench`.
python_package() {
    if apt-cache show "python$version-$1" >/dev/null 2>&1; then
        echo "python$version-$1"
    else
        echo "python3-$1"
    fi
}

DEBIAN_PACKAGES=(mosquitto mosquitto-clients socat pcscd libpcsclite-dev vsmartcard-vpcd systemd
                 sqlite3 openssl gcc procps faketime chromium nats-server)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
apt() {
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# A stock machine may have no package lists yet: apt-cache cannot name the versioned packages.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
    apt update -qq
    updated=1
fi
DEBIAN_PACKAGES+=("$(python_package venv)" "$(python_package dev)")

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    [ -n "${updated:-}" ] || apt update -qq
    apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A venv is trusted only when its python runs and has pip: `python3 -m venv` without ensurepip
# leaves a python and no pip behind, and a moved or upgraded Python leaves a dangling link.
venv_works() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}
stamp="$VENV/.installed"
if ! venv_works; then
    if [ -e "$VENV" ]; then
        echo "bootstrap: $VENV is broken (no working python or pip): making it again"
        rm -rf "$VENV"
    else
        echo "bootstrap: creating $VENV"
    fi
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing rxedge and its dependencies into $VENV"
    log="$VENV/install.log"
    if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
           "$VENV/bin/python" -m pip install -e ".[dev]"; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "bootstrap: installing into $VENV failed (whole log: $log)" >&2
        exit 1
    fi
    touch "$stamp"
fi
