# Sourced by Tools/run, Tools/test and Tools/bench: installs what is missing, finds swift.
# Installs Debian packages only when they are missing, running `apt-get update` only
# when the first install attempt fails (a fresh machine with no package lists).

stipple_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$stipple_root"

ensure_debian_packages() {
    local missing=()
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then return 0; fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        $sudo apt-get update >&2
        $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
}

ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        if [ -x /opt/swift/usr/bin/swift ]; then
            export PATH="/opt/swift/usr/bin:$PATH"
        else
            echo "setup: no Swift toolchain found (expected swift on PATH or in /opt/swift)" >&2
            exit 1
        fi
    fi
}

# liblz4-dev: the CLZ4 system library; libsqlite3-dev: GRDB; pkg-config finds liblz4;
# sqlite3: the shell the tests use to tamper with a log like an outsider would.
ensure_debian_packages liblz4-dev libsqlite3-dev pkg-config sqlite3
ensure_swift
