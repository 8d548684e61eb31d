# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet simulator for memwise.linux tests and benchmarks: N SSH targets on loopback addresses.

Controller-side test tooling (Python standard library only). Every target is
one ``sshd`` of its own, listening only on its own loopback address
(127.0.1.1, 127.0.1.2, ...; after 127.0.1.254 comes 127.0.2.1) on a free port,
with its own configuration, host key and PID file; nothing under /etc/ssh is
read or written and no system sshd is started. Targets accept only the VM
harness's SSH key (``vmctl.ssh_key()``) for the user running this script (root
in the tests), no passwords. They all share this machine's kernel and Python:
a fleet measures the controller and the collection's per-host cost, not
per-host kernels.

  fleetctl.py up --state-dir D --hosts N [--watch-pid PID]
                                   start N targets, write D/inventory.yml and
                                   D/fleet.json; they stop when PID ends
                                   (default: $MEMWISE_VM_OWNER_PID of a
                                   ``vmctl.py session``, else the caller)
  fleetctl.py down --state-dir D   stop every target of D
  fleetctl.py run --hosts N [--state-dir D] -- CMD ...
                                   start a fleet, run CMD with $MEMWISE_FLEET_INVENTORY
                                   set, stop the fleet when CMD ends or this
                                   script is killed (SIGKILL included)
  fleetctl.py ps [--state-dir D]   list the fleet's sshd processes (all fleets
                                   without --state-dir)

Each sshd runs under a guard process of its own, like a VM of tests/vm/vmctl.py:
the guard watches its owner and, when the owner is gone, stops the sshd and
every process below it: SSH sessions (which outlive their listener and run in
sessions of their own) and what they run. The guard is a child subreaper
(PR_SET_CHILD_SUBREAPER), so processes orphaned below it stay its descendants,
and the sshd gets SIGTERM if its guard dies (PR_SET_PDEATHSIG). Host keys
(ed25519, one per target address) are generated once and cached under the VM
harness's cache (``vmctl.cache_dir()/fleet``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "vm"))
import vmctl

MAX_HOSTS = 254 * 4  # 127.0.1.1 ... 127.0.4.254
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# The targets run modules with the machine's own Python, as a managed host would.
TARGET_PYTHON = "/usr/bin/python3"
SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/bin/sshd", "/sbin/sshd")


class FleetError(Exception):
    """A fleet failure with a message for the person running the tests."""


def log(msg):
    sys.stderr.write("fleetctl: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- pure logic


def address(index):
    """The loopback address of target ``index`` (1-based): 127.0.1.1 ... 127.0.1.254, 127.0.2.1, ..."""
    if not 1 <= index <= MAX_HOSTS:
        raise FleetError("target index %d out of range 1..%d" % (index, MAX_HOSTS))
    block, host = divmod(index - 1, 254)
    return "127.0.%d.%d" % (block + 1, host + 1)


def host_name(index, width=3):
    return "fleet-%0*d" % (width, index)


def parse_hosts(text):
    """``--hosts`` value: a number of targets, 1 .. MAX_HOSTS."""
    try:
        count = int(text)
    except ValueError:
        raise FleetError("--hosts must be a number of targets, not %r" % text) from None
    if not 1 <= count <= MAX_HOSTS:
        raise FleetError("--hosts must be between 1 and %d, not %d" % (MAX_HOSTS, count))
    return count


def sshd_config(*, listen, port, host_key, pid_file, authorized_keys, user):
    """The text of one target's sshd_config (pure: tested without sshd)."""
    if not listen.startswith("127."):
        raise FleetError("a fleet target listens on loopback addresses only, not %s" % listen)
    lines = [
        "# memwise.linux fleet target (tests/fleet/fleetctl.py); not the system's sshd",
        "ListenAddress %s:%d" % (listen, port),
        "HostKey %s" % host_key,
        "PidFile %s" % pid_file,
        "AuthorizedKeysFile %s" % authorized_keys,
        "AllowUsers %s" % user,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        # The key file lives in the state directory, which may sit under a shared /tmp.
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "AllowAgentForwarding no",
        "AllowTcpForwarding no",
        "PermitTunnel no",
        # Ansible opens several sessions per target at once (forks, ControlPersist).
        "MaxStartups 64:30:128",
        "MaxSessions 64",
        "LogLevel ERROR",
        "Subsystem sftp internal-sftp",
    ]
    return "\n".join(lines) + "\n"


def inventory_text(targets, key, python):
    """inventory.yml for a list of targets ({name, address, port, user})."""
    common_args = " ".join(vmctl.SSH_OPTS[:-2])
    lines = [
        "# memwise.linux fleet simulator: %d target(s) on loopback addresses, one sshd each" % len(targets),
        "all:",
        "  vars:",
        "    ansible_user: %s" % (targets[0]["user"] if targets else "root"),
        "    ansible_ssh_private_key_file: %s" % key,
        "    ansible_ssh_common_args: '%s'" % common_args,
        "    ansible_python_interpreter: %s" % python,
        "  hosts:",
    ]
    for t in targets:
        lines += [
            "    %s:" % t["name"],
            "      ansible_host: %s" % t["address"],
            "      ansible_port: %d" % t["port"],
        ]
    return "\n".join(lines) + "\n"


def descendants_of(root, parents):
    """Every process below ``root`` in a {pid: parent pid} table, deepest last (pure: tested without processes)."""
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in sorted(children.get(todo.pop(0), [])):
            if child not in found and child != root:
                found.append(child)
                todo.append(child)
    return found


def parse_stat(text):
    """(parent pid, state) from a /proc/PID/stat line; the command name may hold spaces and parentheses."""
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0]


# ---------------------------------------------------------------- processes


def _prctl(option, value):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(%d) failed" % option)


def _die_with_parent():
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def process_table():
    """{pid: parent pid} of the live (not zombie) processes on this machine."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid, state = parse_stat(f.read())
            except (OSError, IndexError, ValueError):
                continue
            if state not in ("Z", "X"):
                table[int(entry)] = ppid
    return table


def guards(state=None):
    """PIDs of the fleet guards on this machine (those of one state directory with ``state``)."""
    me = os.path.abspath(__file__)
    prefix = os.path.join(os.path.abspath(state), "") if state else None
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry) as f:
                    cmd = f.read().split("\0")
            except OSError:
                continue
            if "_guard" in cmd and me in cmd:
                meta = cmd[cmd.index("--meta") + 1] if "--meta" in cmd[:-1] else ""
                if prefix is None or meta.startswith(prefix):
                    found.append(int(entry))
    return sorted(found)


def fleet_processes(state=None):
    """PIDs of everything the fleet guards run: the sshd listeners, their sessions and what those run."""
    table = process_table()
    return sorted(p for g in guards(state) for p in descendants_of(g, table))


def kill_all(pids_of, grace=3.0):
    """SIGTERM what ``pids_of()`` returns, again until it returns nothing; SIGKILL after ``grace`` seconds."""
    deadline = time.time() + grace
    sig = signal.SIGTERM
    while True:
        pids = pids_of()
        if not pids:
            return
        if time.time() > deadline:
            sig = signal.SIGKILL
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        _reap()
        time.sleep(0.1)
        if time.time() > deadline + 5:
            raise FleetError("sshd processes %s do not stop" % pids)


def _reap():
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return


def guard(args):
    """Run one target's sshd as a child; stop it and its sessions when the owner dies or on SIGTERM."""
    with open(args.meta) as f:
        meta = json.load(f)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    with open(meta["log"], "ab") as out:
        proc = subprocess.Popen(
            meta["argv"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only, no locks taken
        )
    meta.update(pid=proc.pid, guard_pid=os.getpid())
    tmp = args.meta + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=2)
    os.rename(tmp, args.meta)

    def stop(*_args):
        kill_all(lambda: descendants_of(os.getpid(), process_table()))
        _reap()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    owner, owner_start = meta.get("owner"), meta.get("owner_start")
    while proc.poll() is None:
        if owner and not vmctl.alive(owner, owner_start):
            stop()
        _reap()
        time.sleep(1)
    stop()


# ---------------------------------------------------------------- keys


def fleet_cache():
    path = os.path.join(vmctl.cache_dir(), "fleet")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def host_key(addr):
    """The cached ed25519 host key of the target at ``addr``, generated on first use."""
    keydir = os.path.join(fleet_cache(), "hostkeys")
    os.makedirs(keydir, mode=0o700, exist_ok=True)
    path = os.path.join(keydir, "ssh_host_ed25519_key-%s" % addr)
    with vmctl.Locked(os.path.join(keydir, ".lock")):
        if not os.path.exists(path):
            vmctl.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "memwise-fleet@" + addr, "-f", path])
    return path


def find_sshd():
    for path in SSHD_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    raise FleetError("no sshd binary; install openssh-server (make host-packages, tests/host-packages.txt)")


def free_port(addr):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- up / down


def owner_of(watch_pid):
    """(pid, start time) of the process the fleet dies with."""
    pid = watch_pid or int(os.environ.get("MEMWISE_VM_OWNER_PID") or 0) or os.getppid()
    start = vmctl.proc_start_time(pid)
    if start is None:
        raise FleetError("owner process %d is not running" % pid)
    return pid, start


def _privsep_dir():
    # sshd run as root needs its privilege separation directory (Debian: /run/sshd,
    # made by the ssh unit at boot, which does not run here). An empty runtime directory.
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


def up(state, count, watch_pid=None, timeout=30):
    """Start ``count`` targets under guards; write the inventory; return the targets."""
    state = os.path.abspath(state)
    os.makedirs(state, exist_ok=True)
    if os.path.exists(os.path.join(state, "fleet.json")):
        down(state)
    sshd = find_sshd()
    key, pub = vmctl.ssh_key()
    user = os.environ.get("USER") or "root"
    if os.geteuid() == 0:
        user = "root"
    owner, owner_start = owner_of(watch_pid)
    authorized = os.path.join(state, "authorized_keys")
    with open(authorized, "w") as f:
        f.write(pub + "\n")
    os.chmod(authorized, 0o600)
    _privsep_dir()
    targets = []
    try:
        for index in range(1, count + 1):
            name = host_name(index, max(3, len(str(count))))
            addr = address(index)
            port = free_port(addr)
            config = os.path.join(state, name + ".sshd_config")
            with open(config, "w") as f:
                f.write(
                    sshd_config(
                        listen=addr,
                        port=port,
                        host_key=host_key(addr),
                        pid_file=os.path.join(state, name + ".pid"),
                        authorized_keys=authorized,
                        user=user,
                    )
                )
            meta = {
                "name": name,
                "address": addr,
                "port": port,
                "user": user,
                "argv": [sshd, "-D", "-e", "-f", config],
                "log": os.path.join(state, name + ".log"),
                "owner": owner,
                "owner_start": owner_start,
            }
            vmctl.spawn_guard(os.path.abspath(__file__), state, name, meta)
            targets.append(meta)
        _write_fleet(state, targets)
        wait_listening(state, targets, timeout)
    except BaseException:
        down(state)
        raise
    with open(os.path.join(state, "inventory.yml"), "w") as f:
        f.write(inventory_text(targets, key, TARGET_PYTHON if os.path.exists(TARGET_PYTHON) else sys.executable))
    return targets


def _write_fleet(state, targets):
    with open(os.path.join(state, "fleet.json"), "w") as f:
        json.dump([{k: t[k] for k in ("name", "address", "port")} for t in targets], f, indent=2)


def ssh_banner(addr, port):
    """True when an SSH server answers with its identification line at addr:port."""
    try:
        with socket.create_connection((addr, port), timeout=1) as s:
            s.sendall(b"SSH-2.0-memwise-fleet-probe\r\n")
            return s.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def wait_listening(state, targets, timeout):
    pending = {t["name"]: t for t in targets}
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        for name, t in list(pending.items()):
            if ssh_banner(t["address"], t["port"]):
                del pending[name]
        if pending:
            time.sleep(0.1)
    if pending:
        tails = []
        for name in sorted(pending)[:3]:
            with open(os.path.join(state, name + ".log"), errors="replace") as f:
                tails.append("%s: %s" % (name, f.read()[-500:].strip()))
        raise FleetError(
            "no sshd listening after %d s on %s\n%s" % (timeout, ", ".join(sorted(pending)), "\n".join(tails))
        )


def down(state):
    """Stop every target of a state directory: its guard first, then anything of its left."""
    state = os.path.abspath(state)
    try:
        with open(os.path.join(state, "fleet.json")) as f:
            targets = json.load(f)
    except (OSError, ValueError):
        targets = []
    guards = []
    for t in targets:
        try:
            with open(os.path.join(state, t["name"] + ".json")) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            continue
        gpid = meta.get("guard_pid")
        if gpid and vmctl.alive(gpid) and os.path.join(state, t["name"] + ".json") in vmctl.cmdline(gpid):
            os.kill(gpid, signal.SIGTERM)
            guards.append(gpid)
    deadline = time.time() + 10
    while time.time() < deadline and any(vmctl.alive(g) for g in guards):
        time.sleep(0.1)
    # A guard that was itself killed left its sshd to PR_SET_PDEATHSIG; anything else below one goes here.
    kill_all(lambda: fleet_processes(state))
    for path in ("fleet.json", "inventory.yml"):
        if os.path.exists(os.path.join(state, path)):
            os.unlink(os.path.join(state, path))


def run(args):
    """Start a fleet, run a command against it, stop the fleet (also when killed: the guards watch this process)."""
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        raise FleetError("run needs a command after --")
    state = args.state_dir or tempfile.mkdtemp(prefix="memwise-fleet-")
    child = None

    def stop(*_args):
        if child and child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        raise SystemExit(128 + signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        up(state, args.hosts, watch_pid=os.getpid())
        log("%d target(s) up; inventory %s" % (args.hosts, os.path.join(state, "inventory.yml")))
        env = dict(os.environ, MEMWISE_FLEET_INVENTORY=os.path.join(state, "inventory.yml"), MEMWISE_FLEET_STATE=state)
        # Its own session (a SIGINT to the script's group reaches it through stop()), and
        # SIGTERM when this script dies, SIGKILL included.
        child = subprocess.Popen(cmd, env=env, start_new_session=True, preexec_fn=_die_with_parent)  # noqa: PLW1509
        with open(os.path.join(state, "command.pid"), "w") as f:
            f.write("%d\n" % child.pid)
        return child.wait()
    finally:
        down(state)
        if not args.state_dir:
            shutil.rmtree(state, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--hosts", required=True)
    p.add_argument(
        "--watch-pid", type=int, help="stop when this process dies (default: a vmctl session, else the caller)"
    )
    p = sub.add_parser("down")
    p.add_argument("--state-dir", required=True)
    p = sub.add_parser("run")
    p.add_argument("--hosts", required=True)
    p.add_argument("--state-dir", help="keep the fleet's files here (default: a temporary directory, removed)")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("ps")
    p.add_argument("--state-dir")
    p = sub.add_parser("_guard")
    p.add_argument("--meta", required=True)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            targets = up(args.state_dir, parse_hosts(args.hosts), args.watch_pid)
            print(json.dumps([{k: t[k] for k in ("name", "address", "port")} for t in targets], indent=2))
        elif args.cmd == "down":
            down(args.state_dir)
        elif args.cmd == "run":
            args.hosts = parse_hosts(args.hosts)
            return run(args)
        elif args.cmd == "ps":
            for pid in fleet_processes(args.state_dir):
                print(pid, vmctl.cmdline(pid))
        elif args.cmd == "_guard":
            guard(args)
    except (FleetError, vmctl.VmError) as exc:
        log("error: %s" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
