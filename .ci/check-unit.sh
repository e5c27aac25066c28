#!/usr/bin/env bash
# Checks the systemd unit without a running systemd (see ops-anchors §1.11):
#   1. `systemd-analyze verify` must print nothing at all: it exits 0 on unknown keys and bad
#      values and only warns, so any output line fails the check.
#   2. `systemd-analyze security --offline=true` must score an exposure at or below the research
#      model unit's 1.7 (ops-anchors §1.10), so hardening can only get better.
# Usage: .ci/check-unit.sh [UNIT_FILE]   (default deploy/codeship-cron.service)
set -euo pipefail
cd "$(dirname "$0")/.."

unit=${1:-deploy/codeship-cron.service}
# Exposure score of the model unit in ops-anchors.md §1.10, measured with systemd 252.
max_exposure=1.7
# Executables the install layout guarantees on the target host (README "Install as a service").
# They need not exist on the CI machine: verify runs against a scratch root that stubs them, so
# any other ExecStart=/ExecReload= path still fails as "not executable".
install_binaries=(/usr/bin/node /bin/kill)

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "check-unit: systemd-analyze missing, installing Debian's systemd package" >&2
  sudo=''
  if [ "$(id -u)" -ne 0 ]; then sudo='sudo'; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi

if [ ! -f "$unit" ]; then
  echo "check-unit: no unit file at $unit" >&2
  exit 1
fi
name=$(basename "$unit")
export SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat SYSTEMD_LOG_COLOR=0

# verify resolves Exec paths and the unit's dependencies (sysinit.target, ...) under --root, so the
# scratch root holds the host's stock units, the stubs, and the unit under test.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
host_units=''
for dir in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -f "$dir/sysinit.target" ]; then host_units=$dir; break; fi
done
if [ -z "$host_units" ]; then
  echo "check-unit: no stock systemd units found (is the systemd package installed?)" >&2
  exit 1
fi
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system"
cp -a "$host_units" "$root/usr/lib/systemd/system"
for binary in "${install_binaries[@]}"; do
  mkdir -p "$root$(dirname "$binary")"
  printf '#!/bin/sh\nexit 0\n' >"$root$binary"
  chmod 0755 "$root$binary"
done
cp "$unit" "$root/etc/systemd/system/$name"

status=0
verify_output=$(systemd-analyze verify --man=no --root="$root" "$root/etc/systemd/system/$name" 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$verify_output" ]; then
  echo "check-unit: systemd-analyze verify $unit failed (exit $status):" >&2
  printf '%s\n' "${verify_output//$root\/etc\/systemd\/system\/$name/$unit}" >&2
  exit 1
fi
echo "check-unit: verify $unit: no warnings"

security_output=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
exposure=$(printf '%s\n' "$security_output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$exposure" ]; then
  echo "check-unit: systemd-analyze security printed no exposure level for $unit:" >&2
  printf '%s\n' "$security_output" >&2
  exit 1
fi
if awk -v got="$exposure" -v max="$max_exposure" 'BEGIN { exit !(got > max) }'; then
  echo "check-unit: exposure $exposure of $unit is above $max_exposure (the model unit's); settings that cost points:" >&2
  printf '%s\n' "$security_output" | grep -a '^✗' >&2 || true
  exit 1
fi
echo "check-unit: security $unit: exposure $exposure (max $max_exposure)"
