#!/bin/sh
# Installs the Debian packages the build needs when any is missing.
# Runs apt-get directly as root, through sudo otherwise; without either it
# prints the exact command and fails.
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "missing Debian packages:$missing" >&2
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive $cmd) >&2 && exit 0
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive $cmd) >&2 && exit 0
fi
echo "please run: sudo apt-get update && sudo $cmd" >&2
exit 1
