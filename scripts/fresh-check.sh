#!/usr/bin/env bash
# First contact, checked: build a stock Debian 12 root (minbase, then only git, make,
# ca-certificates and python3, as a minimal install has), clone the committed HEAD into it and
# run the README's `make demo` there (and `make test` with FULL=1), printing each step's time.
#
# Run as root on a Debian machine: `make fresh-check` (FULL=1 for the tests too). The root is
# made under FRESH_DIR (default /var/tmp) from this machine's own apt sources, with its local CA
# certificates and /etc/pip.conf copied in, so it works behind the same proxy. It is removed at
# the end unless KEEP=1. Uncommitted changes are not checked: commit first.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
FRESH_DIR=${FRESH_DIR:-/var/tmp}
FULL=${FULL:-0}
KEEP=${KEEP:-0}

if [ "$(id -u)" -ne 0 ]; then
    echo "fresh-check: run as root (it builds a Debian root with debootstrap and chroot)" >&2
    exit 1
fi
commit=$(git -C "$REPO" rev-parse HEAD)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]; then
    echo "fresh-check: uncommitted changes are not checked; testing commit ${commit:0:12}"
fi

steps=()
started_at=$(date +%s.%N)
step() {  # step NAME COMMAND...: run it, note its time, stop the check when it fails
    local name=$1 t0 t1 seconds
    shift
    echo "=== fresh-check: $name"
    t0=$(date +%s.%N)
    if ! "$@"; then
        echo "fresh-check: FAILED at step '$name'" >&2
        return 1
    fi
    t1=$(date +%s.%N)
    seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    steps+=("$(printf '%-44s %7s s' "$name" "$seconds")")
    echo "=== fresh-check: $name took $seconds s"
}

# The first URIs of this machine's sources for the suite itself (not -security, not -updates).
mirror() {
    local uri
    uri=$(awk -v suite="$SUITE" '
        /^URIs:/ { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) { print uri; exit } }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' \
            /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

if ! command -v debootstrap >/dev/null; then
    step "install debootstrap (this machine)" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

root=$(mktemp -d "$FRESH_DIR/rxedge-fresh.XXXXXX")
chmod 0755 "$root"  # a stock root's /: mktemp's 0700 would shut the service user out of it
case "$root" in
    "$REPO"/*) echo "fresh-check: the root must not be inside the checkout" >&2; exit 1 ;;
esac
mounted=()

processes_in_root() {
    local link pid
    for link in /proc/[0-9]*/root; do
        pid=${link#/proc/}
        pid=${pid%/root}
        [ "$(readlink "$link" 2>/dev/null)" = "$root" ] && echo "$pid"
    done
    return 0
}

cleanup() {
    local status=$? pid target i
    # Whatever the check left running inside (a broker, pcscd) goes first, or /dev stays busy.
    for pid in $(processes_in_root); do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in $(processes_in_root); do kill -KILL "$pid" 2>/dev/null || true; done
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        target=${mounted[i]}
        umount "$target" 2>/dev/null || umount -l "$target" || true
    done
    if grep -q " $root/" /proc/mounts; then
        echo "fresh-check: something is still mounted under $root; not removing it" >&2
    elif [ "$KEEP" = 1 ]; then
        echo "fresh-check: root kept in $root"
    else
        rm -rf --one-file-system "$root"
    fi
    exit "$status"
}
trap cleanup EXIT INT TERM

in_root() {  # a login shell in the root, with nothing of this machine's environment
    chroot "$root" env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        bash -lc "$1"
}

prepare_root() {
    # This machine's apt sources (the suite, its updates and security), CAs and pip settings.
    rm -f "$root/etc/apt/sources.list"
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
    else
        local uri
        uri=$(mirror)
        printf 'deb %s %s main\ndeb %s %s-updates main\n' \
            "$uri" "$SUITE" "$uri" "$SUITE" >"$root/etc/apt/sources.list"
        echo "deb http://deb.debian.org/debian-security $SUITE-security main" \
            >>"$root/etc/apt/sources.list"
    fi
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
        mkdir -p "$root/usr/local/share/ca-certificates"
        cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
    fi
    [ ! -f /etc/pip.conf ] || cp /etc/pip.conf "$root/etc/pip.conf"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    # As on a real machine no service starts by itself during the check (no init runs here).
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod +x "$root/usr/sbin/policy-rc.d"
    local target
    for target in proc sys dev dev/pts; do
        mount --bind "/$target" "$root/$target"
        mounted+=("$root/$target")
    done
}

install_minimal() {
    in_root 'export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq &&
        apt-get install -y -qq --no-install-recommends git make ca-certificates python3 >/dev/null &&
        update-ca-certificates >/dev/null'
}

clone_head() {
    git clone --quiet --no-checkout "$REPO" "$root/root/rxedge" &&
        git -C "$root/root/rxedge" checkout --quiet "$commit"
}

make_root() {
    local log="$root.debootstrap.log"
    if ! debootstrap --variant=minbase "$SUITE" "$root" "$(mirror)" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

echo "fresh-check: mirror $(mirror), root $root"
step "debootstrap $SUITE minbase" make_root
step "apt sources, CAs, pip settings, mounts" prepare_root
step "install git make ca-certificates python3" install_minimal
in_root 'python3 --version; git --version | head -1; make --version | head -1'
step "clone commit ${commit:0:12}" clone_head
step "make demo" in_root 'cd /root/rxedge && make demo'
if [ "$FULL" = 1 ]; then
    step "make test" in_root 'cd /root/rxedge && make test'
fi

total=$(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo
echo "fresh-check: passed on a stock Debian 12 root (commit ${commit:0:12})"
printf '  %s\n' "${steps[@]}"
printf '  %-44s %7s s\n' "total" "$total"
