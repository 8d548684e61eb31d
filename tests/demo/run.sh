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
play() {  # play LABEL PLAYBOOK [ARGS...]: run one playbook against the fleet and remember it
  local label=$1
  shift
  echo "== ansible-playbook $*"
  ansible-playbook -i "$inventory" "$@"
  ran+=("$label")
}
report=$PWD/memwise-report
# One VM swaps under a background memory load, so the first report has something to show.
echo "== ansible-playbook tests/demo/load.yml (swapfile and memory load on demo-deb12)"
ansible-playbook -i "$inventory" "$here/load.yml"
play "memwise.linux.gather (fleet report before the policy)" memwise.linux.gather -e "memwise_report_dir=$report/before"
# The OOM test on the stock VM: a hog grows in workload.slice beside a web service.
play "the OOM test before the policy" "$here/oom.yml" -e memwise_demo_phase=before -e "memwise_demo_state=$state"
play "memwise.linux.apply_policy (and the fleet report after it)" memwise.linux.apply_policy \
  -e "@$here/policy.yml" -e "memwise_report_dir=$report"
play "the OOM test with the policy" "$here/oom.yml" -e memwise_demo_phase=after -e "memwise_demo_state=$state"

python3 - "$state/oom-before.json" "$state/oom-after.json" <<'MEMWISE_PY'
import json, sys
rows = []
for label, path in zip(("before the policy", "with the policy"), sys.argv[1:]):
    r = json.load(open(path))
    if int(r["oom_kill_delta"]) > 0:
        what = "kernel OOM killer killed it"
    elif int(r["oomd_killed"]) > 0:
        what = "systemd-oomd killed it"
    elif r["hog_state"] == "active":
        what = "MemoryHigh held it"
    else:
        what = "it ended (%s)" % r["hog_state"]
    web = "kept MainPID %s, answers %r" % (r["web_pid_after"], r["web_answer"]) if r["web_pid_after"] == r["web_pid_before"] else "restarted or died (MainPID %s -> %s)" % (r["web_pid_before"], r["web_pid_after"])
    rows.append("  %-18s hog: %s after %s s; kernel OOM kills: %s; memwise-web: %s" % (label, what, r["seconds"], r["oom_kill_delta"], web))
print("\ndemo: the OOM test on demo-deb12 (1 GiB; a hog adds 20 MiB every 0.2 s in workload.slice):")
print("\n".join(rows))
MEMWISE_PY

echo
echo "demo: ran, on demo-deb12 (Debian 12) and demo-deb13 (Debian 13):"
printf '  - %s\n' "${ran[@]}"
echo "demo: fleet report before the policy: $report/before/report.html; after it: $report/report.html"
if [ "$keep" = 1 ]; then
  echo "demo: VMs left running; inventory $inventory; stop them with: make demo-down"
fi
echo
echo "Next:"
echo "  1. open the report:            xdg-open $report/report.html   (or read $report/report.md)"
echo "  2. the policy on your hosts, in check mode first:"
echo "       ansible-playbook memwise.linux.apply_policy -i YOUR_INVENTORY --check --diff -e @$here/policy.yml"
echo "  3. run the tests:              make test"
