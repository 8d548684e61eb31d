#!/usr/bin/env bash
# Install the Debian packages listed in tests/host-packages.txt that are missing:
# as root directly, through sudo when it works without a password, else stop
# and print the exact apt command to run. Says once what it installs and why.
set -euo pipefail
list=${1:-$(dirname "$0")/../host-packages.txt}

missing=() why=()
while read -r package _hash reason; do
  case $package in '' | '#'*) continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
    why+=("  $package: $reason")
  fi
done <"$list"
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "host packages: missing ${missing[*]}, and this host has no apt-get; install them with its package manager" >&2
  exit 1
fi
echo "host packages: installing ${#missing[@]} missing Debian package(s):"
printf '%s\n' "${why[@]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo_cmd=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo_cmd=(sudo)
else
  echo "host packages: not root and sudo needs a password; run this, then the make target again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "host packages: installed ${missing[*]}"
