#!/usr/bin/env bash
# Installs the 7stamp Autopilot gateway on a fresh Raspberry Pi OS Lite or Debian box (bookworm or trixie):
# its Java (17 on bookworm, 21 on trixie), the .deb (from a URL or a local file), and the broker address and claim token in
# /etc/7stamp-autopilot/gateway.properties; then (re)starts the service.
#
#   curl -fsSL https://example.com/install-gateway.sh | sudo bash -s -- \
#       --deb https://example.com/7stamp-autopilot-gateway_0.1.0_all.deb \
#       --broker ssl://broker.example.com:8883 --claim CLAIM-TOKEN [--ca broker-ca.pem]
#
# Without --broker/--claim it asks (when a terminal is attached). Idempotent: run it again to change
# the broker or the token; other keys in the config are kept. --offline (for image builds and tests):
# no apt-get update and no downloads; Java 17 or later must be installed already and --deb must be a local file.
set -euo pipefail

CONFIG=/etc/7stamp-autopilot/gateway.properties
deb="" broker="" claim="" ca="" offline=""

usage() {
    sed -n '2,12p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' >&2 || true
    echo "usage: install-gateway.sh --deb URL|FILE [--broker URL] [--claim TOKEN] [--ca FILE] [--offline]" >&2
    exit 64
}

while [ $# -gt 0 ]; do
    case "$1" in
        --deb) deb=${2:?--deb needs a URL or a file}; shift 2 ;;
        --broker) broker=${2:?--broker needs a URL}; shift 2 ;;
        --claim) claim=${2:?--claim needs a token}; shift 2 ;;
        --ca) ca=${2:?--ca needs a PEM file}; shift 2 ;;
        --offline) offline=1; shift ;;
        -h|--help) usage ;;
        *) echo "install-gateway.sh: unknown argument '$1'" >&2; usage ;;
    esac
done

[ "$(id -u)" -eq 0 ] || { echo "install-gateway.sh: run as root (sudo)" >&2; exit 77; }
[ -n "$deb" ] || { echo "install-gateway.sh: --deb URL|FILE is required" >&2; usage; }

ask() { # ask VAR PROMPT: reads from the terminal even when the script itself comes from a pipe
    local value=""
    if [ -r /dev/tty ]; then
        read -r -p "$2" value </dev/tty || true
    fi
    printf '%s' "$value"
}
[ -n "$broker" ] || broker=$(ask broker "Broker URL (ssl://HOST:8883 or tcp://HOST:1883): ")
[ -n "$claim" ] || claim=$(ask claim "Claim token (from 'autopilot-sink claims create'): ")
[ -n "$broker" ] || { echo "install-gateway.sh: a broker URL is required (--broker)" >&2; exit 64; }
case "$broker" in
    ssl://*|tcp://*) ;;
    *) echo "install-gateway.sh: broker '$broker' must be ssl://HOST:PORT or tcp://HOST:PORT" >&2; exit 64 ;;
esac
if [ -n "$ca" ] && [ ! -r "$ca" ]; then
    echo "install-gateway.sh: CA file '$ca' cannot be read" >&2; exit 66
fi

export DEBIAN_FRONTEND=noninteractive
if [ -n "$offline" ]; then
    case "$deb" in
        http://*|https://*) echo "install-gateway.sh: --offline needs --deb to be a local file, not '$deb'" >&2; exit 64 ;;
    esac
    # any installed package that provides java17-runtime-headless (openjdk-17 on bookworm, 21 on trixie);
    # read whole, not with grep -q: its early exit would end dpkg-query with SIGPIPE, a failure under pipefail
    java_providers=$(dpkg-query -W -f='${Status} ${Provides}\n' 2>/dev/null | grep '^install ok installed ' \
        | grep -E '(^| )java17-runtime-headless(,|$)' || true)
    [ -n "$java_providers" ] || {
        echo "install-gateway.sh: --offline: no Java 17 or later is installed (openjdk-17-jre-headless or openjdk-21-jre-headless)" >&2
        exit 69; }
else
    apt-get update -q >/dev/null
    # the .deb's first Java alternative this release has: 17 on bookworm, 21 on trixie (17 is gone there)
    java_package=openjdk-21-jre-headless
    if apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
        java_package=openjdk-17-jre-headless
    fi
    echo "==> installing Java ($java_package)"
    apt-get install -y -q --no-install-recommends "$java_package" ca-certificates curl >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "$deb" in
    http://*|https://*)
        echo "==> downloading $deb"
        curl -fsSL --retry 3 -o "$work/gateway.deb" "$deb" ;;
    *)
        [ -r "$deb" ] || { echo "install-gateway.sh: '$deb' cannot be read" >&2; exit 66; }
        cp "$deb" "$work/gateway.deb" ;;
esac
chmod 644 "$work/gateway.deb"

echo "==> installing the gateway package"
# apt resolves the package's dependencies; --force-confold keeps a config the admin already edited
apt-get install -y -q -o Dpkg::Options::=--force-confold "$work/gateway.deb" >/dev/null

# set KEY VALUE in the config: replace an existing (or commented) line, else append
set_key() {
    local key=$1 value=$2 escaped
    escaped=$(printf '%s' "$value" | sed 's/[\\&|]/\\&/g')
    if grep -Eq "^#?${key//./\\.}=" "$CONFIG"; then
        sed -i -E "s|^#?${key//./\\.}=.*|${key}=${escaped}|" "$CONFIG"
    else
        printf '%s=%s\n' "$key" "$value" >>"$CONFIG"
    fi
}

echo "==> writing $CONFIG"
set_key mqtt.url "$broker"
if [ -n "$ca" ]; then
    install -m 0644 "$ca" /etc/7stamp-autopilot/broker-ca.pem
    set_key mqtt.tls.ca /etc/7stamp-autopilot/broker-ca.pem
fi
if [ -n "$claim" ]; then
    set_key provision.claimToken "$claim"
fi
chown root:autopilot "$CONFIG"
chmod 0640 "$CONFIG"

if [ -d /run/systemd/system ]; then
    systemctl enable 7stamp-gateway.service >/dev/null 2>&1 || true
    systemctl restart 7stamp-gateway.service
    if systemctl is-active --quiet 7stamp-gateway.service; then
        echo "==> 7stamp-gateway is running; follow it with: journalctl -fu 7stamp-gateway"
    else
        echo "==> 7stamp-gateway did not start; see: journalctl -u 7stamp-gateway -n 50" >&2
        exit 1
    fi
else
    echo "==> installed; systemd is not running here, the gateway starts at the next boot"
fi
