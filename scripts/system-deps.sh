#!/usr/bin/env bash
# The system (Debian/Ubuntu) packages the tests need; `make test` runs this first.
#
# Silent and instant when everything is present. Otherwise, as root it installs what is missing
# with apt-get; as any other user it prints the one command to run and fails, so `make test`
# stops before pytest instead of erroring in the middle of the suite.
set -euo pipefail

# What must be present, and the package that provides it. A "what" with a slash is a file (or a
# glob), otherwise a command on PATH. Add one line per need.
NEEDS='
/usr/bin/chromium                                 chromium
/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf   fonts-dejavu-core
redis-server                                      redis-server
/usr/sbin/nginx                                   nginx-light
/usr/lib/postgresql/*/bin/initdb                  postgresql
'

present() {
  case "$1" in
    */*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# Sets `missing` (packages) and `absent` (what they should have provided).
check() {
  missing=() absent=()
  while read -r need package; do
    [ -n "$need" ] || continue
    present "$need" || { missing+=("$package"); absent+=("$need"); }
  done <<<"$NEEDS"
}

check
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages for the tests; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "Installing system packages for the tests: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

check
if [ ${#missing[@]} -ne 0 ]; then
  echo "Installed ${missing[*]}, but still missing: ${absent[*]}" >&2
  exit 1
fi
