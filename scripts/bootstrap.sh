#!/usr/bin/env bash
# Prepare a fresh Debian/Ubuntu machine: system packages, then a venv with rxedge installed.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd only for systemd-analyze: the tests check the unit file with it (no systemd needs to run);
# openssl makes the test CA and certificates for the TLS tests; chromium is the browser the web
# page's tests drive (Playwright with its executable_path: no browser is downloaded).
DEBIAN_PACKAGES=(mosquitto mosquitto-clients socat pcscd libpcsclite-dev vsmartcard-vpcd systemd openssl
    chromium)
VENV=${RXEDGE_VENV:-.venv}

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp="$VENV/.installed"
if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV"
    python3 -m venv "$VENV"
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
