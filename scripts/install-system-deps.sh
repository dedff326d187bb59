#!/bin/sh
# Installs the Debian packages the test suite runs for real: Chromium (browser tests),
# Redis and PostgreSQL (private instances on loopback, see tests/servers.py), Dovecot
# (IMAP tests) and GNU gettext (makemessages/compilemessages, the catalog tests). Idempotent: when everything is present it only checks and exits.
#
# System services are not started: tests start their own instances on free ports.
#
# Usage: scripts/install-system-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
set -eu

PACKAGES="chromium redis-server postgresql dovecot-imapd fonts-dejavu-core gettext"

check_only=0
if [ "${1:-}" = "--check" ]; then
    check_only=1
fi

# A package counts as present only if dpkg says so and, where the suite needs a binary,
# the binary exists (a half-removed package can leave one without the other).
binary_present() {
    case "$1" in
        chromium) [ -x /usr/bin/chromium ] ;;
        redis-server) [ -x /usr/bin/redis-server ] ;;
        postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ;;
        dovecot-imapd) [ -x /usr/sbin/dovecot ] ;;
        gettext) [ -x /usr/bin/msgfmt ] ;;
        *) true ;;
    esac
}

missing=""
for pkg in $PACKAGES; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        && binary_present "$pkg"; then
        continue
    fi
    missing="$missing $pkg"
done

if [ -z "$missing" ]; then
    echo "install-system-deps: all present ($PACKAGES)"
    exit 0
fi

echo "install-system-deps: missing:$missing"
if [ "$check_only" = 1 ]; then
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "install-system-deps: not root and no passwordless sudo. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

# Another apt/dpkg run (e.g. unattended upgrades, a provisioning step) holds the lock;
# apt-get would fail at once, so wait for it (bounded) instead.
waited=0
while pgrep -x apt-get >/dev/null 2>&1 || pgrep -x apt >/dev/null 2>&1 || pgrep -x dpkg >/dev/null 2>&1; do
    if [ "$waited" -ge 600 ]; then
        echo "install-system-deps: another apt/dpkg process is still running after 600s" >&2
        exit 1
    fi
    if [ "$waited" = 0 ]; then
        echo "install-system-deps: waiting for another apt/dpkg process to finish"
    fi
    sleep 2
    waited=$((waited + 2))
done

# Package maintainer scripts would start postgresql/redis/dovecot system services;
# policy-rc.d exit code 101 tells invoke-rc.d not to. Only a file created here is removed.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" = 1 ]; then
        $SUDO rm -f "$policy"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing

for pkg in $missing; do
    if ! binary_present "$pkg"; then
        echo "install-system-deps: $pkg installed but its binary is missing" >&2
        exit 1
    fi
done
echo "install-system-deps: installed:$missing"
