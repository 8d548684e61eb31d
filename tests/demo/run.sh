#!/usr/bin/env bash
# make demo: boot a small fleet (Debian 12 + Debian 13), run what the
# collection offers today, and say what it did. Usage: run.sh STATE_DIR KEEP(0|1)
set -euo pipefail
state=$1
keep=${2:-0}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
vmctl=("python" "$root/tests/vm/vmctl.py")

if [ "$keep" = 1 ]; then
  # Kept VMs must outlive this session: boot them without an owner.
  unset MEMWISE_VM_OWNER_PID
else
  trap '"${vmctl[@]}" down --state-dir "$state"' EXIT
fi

echo "== booting the demo fleet (Debian 12 and 13 under qemu; about a minute)"
"${vmctl[@]}" up --state-dir "$state" --vm demo-deb12:bookworm --vm demo-deb13:trixie >/dev/null
inventory=$state/inventory.yml

ran=()
play() {  # play LABEL PLAYBOOK: run one playbook against the fleet and remember it
  echo "== ansible-playbook $2"
  ansible-playbook -i "$inventory" "$2"
  ran+=("$1")
}
# One VM swaps under a background memory load, so the report has something to show.
echo "== ansible-playbook tests/demo/load.yml (swapfile and memory load on demo-deb12)"
ansible-playbook -i "$inventory" "$here/load.yml"
if [ -f "$root/playbooks/gather.yml" ]; then
  play "memwise.linux.gather (fleet report)" memwise.linux.gather
else
  play "memwise.linux.memory_facts" "$here/facts.yml"
fi
if [ -f "$root/playbooks/apply_policy.yml" ]; then
  play "memwise.linux.apply_policy" memwise.linux.apply_policy
fi

echo
echo "demo: ran ${ran[*]} on demo-deb12 (Debian 12) and demo-deb13 (Debian 13)"
echo "demo: demo-deb12 ran them under memory pressure (256 MiB swapfile, unit memwise-demo-load)"
if [ -d "$PWD/memwise-report" ]; then
  echo "demo: fleet report in $PWD/memwise-report/ (report.html, report.md, report.json)"
fi
if [ "$keep" = 1 ]; then
  echo "demo: VMs left running; inventory $inventory; stop them with: make demo-down"
fi
