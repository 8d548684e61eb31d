# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM harness for memwise.linux tests: Debian base images and throwaway qemu VMs.

Controller-side test tooling (Python standard library only), used by the Molecule
scenarios' create/destroy playbooks, by ``make demo`` and by developers directly.

  vmctl.py image --release bookworm        build (or reuse) the cached base image
  vmctl.py up --state-dir D --vm NAME:RELEASE[:disk=SIZE][:mem=MB] ...
                                            start VMs from overlays, wait for SSH,
                                            give each its own identity, write
                                            D/instances.json and D/inventory.yml
  vmctl.py down --state-dir D               stop every VM of D by PID, remove overlays
  vmctl.py session -- CMD ...               run CMD; every VM booted under it dies
                                            with it (also on SIGTERM/SIGINT/SIGKILL)
  vmctl.py accel                            print the accelerator that will be used
  vmctl.py ps                               list the harness's running qemu processes

Base images are cached by a hash of their recipe under
$MEMWISE_VM_CACHE (default: $XDG_CACHE_HOME/memwise-vm or ~/.cache/memwise-vm)
and rebuilt only when the recipe changes; concurrent builds serialise on a lock.
The apt mirror comes from the host's own apt sources unless $MEMWISE_VM_MIRROR or
--mirror names one.

VMs start from a saved snapshot: the first VM of a kind (image, memory, extra
disk, accelerator, qemu) boots cold once, waits until systemd has finished
booting, and is saved (qemu's migration stream plus its disk as a backing file)
under $MEMWISE_VM_CACHE/snapshots; every later VM of that kind is restored from
it in seconds. After SSH answers, every VM (restored or cold) gets its own
identity: hostname, machine-id, SSH host keys generated on the host, the host's
clock, and fresh randomness (qemu's vmgenid device also makes the guest kernel
reseed its random generator on restore). Reboots inside a VM are real boots.
MEMWISE_VM_SNAPSHOT=0 boots every VM cold.
"""

import argparse
import concurrent.futures
import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

RECIPE_VERSION = 4
SNAPSHOT_VERSION = 1
RELEASES = {"bookworm": "12", "trixie": "13"}
PACKAGES = [
    "systemd-sysv",
    "udev",
    "dbus",
    "openssh-server",
    "python3",
    "linux-image-amd64",
    "initramfs-tools",
    "iproute2",
    "ifupdown",
    "isc-dhcp-client",
    "procps",
    "util-linux",
    "kmod",
    "e2fsprogs",
    "btrfs-progs",
]
IMAGE_SIZE = "4G"
SSH_OPTS = [
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=3",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
]
QEMU_MARK = "memwise-vm"


class VmError(Exception):
    """A harness failure with a message for the person running the tests."""


def log(msg):
    sys.stderr.write("vmctl: %s\n" % msg)
    sys.stderr.flush()


def cache_dir():
    base = os.environ.get("MEMWISE_VM_CACHE")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "memwise-vm")
    os.makedirs(base, exist_ok=True)
    return base


def run(argv, **kw):
    """Run a command from an argv list; raise VmError with its output on failure."""
    kw.setdefault("env", dict(os.environ, LC_ALL="C", LANG="C"))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, **kw)
    if proc.returncode != 0:
        raise VmError("%s failed (rc=%d):\n%s" % (" ".join(argv), proc.returncode, proc.stdout[-4000:]))
    return proc.stdout


class Locked:
    """An exclusive flock on a file, held for the duration of a with block."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


# ---------------------------------------------------------------- apt mirror


def parse_apt_sources(texts):
    """Return the first Debian main-archive URI found in apt source texts.

    ``texts`` is a list of (filename, content). Both one-line ``deb URI SUITE ...``
    files and deb822 ``.sources`` stanzas are understood; security and
    updates suites are skipped because debootstrap needs the main archive.
    """
    for name, text in texts:
        if name.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.split()
                if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"])[0] == "no":
                    continue
                suites = fields.get("suites", [])
                if any(s in RELEASES or s in ("stable", "testing", "sid") for s in suites):
                    uris = fields.get("uris", [])
                    if uris:
                        return uris[0].rstrip("/")
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    suite = words[2]
                    if suite in RELEASES or suite in ("stable", "testing", "sid"):
                        return words[1].rstrip("/")
    return None


def host_mirror(explicit=None):
    mirror = explicit or os.environ.get("MEMWISE_VM_MIRROR")
    if mirror:
        return mirror.rstrip("/")
    texts = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
        if path.endswith((".list", ".sources")) and os.path.isfile(path):
            with open(path) as f:
                texts.append((path, f.read()))
    mirror = parse_apt_sources(texts)
    if not mirror:
        raise VmError("no Debian mirror found in the host's apt sources; set MEMWISE_VM_MIRROR")
    return mirror


# ---------------------------------------------------------------- images


def ssh_key():
    """The harness's SSH key pair (one per cache), created on first use."""
    keydir = os.path.join(cache_dir(), "ssh")
    os.makedirs(keydir, mode=0o700, exist_ok=True)
    key = os.path.join(keydir, "id_ed25519")
    with Locked(os.path.join(keydir, ".lock")):
        if not os.path.exists(key):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "memwise-vm", "-f", key])
    with open(key + ".pub") as f:
        return key, f.read().strip()


def recipe(release, pubkey):
    return {
        "version": RECIPE_VERSION,
        # A new image every ISO week: fresh package lists and security updates.
        "week": time.strftime("%G-W%V", time.gmtime()),
        "release": release,
        "packages": PACKAGES,
        "size": IMAGE_SIZE,
        "pubkey": pubkey,
        "customise": CUSTOMISE,
    }


def recipe_hash(rec):
    return hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:16]


CUSTOMISE = r"""
set -eu
R="$1"; HOSTNAME="$2"; PUBKEY="$3"
echo "$HOSTNAME" > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$HOSTNAME" > "$R/etc/hosts"
echo '/dev/vda / ext4 defaults 0 1' > "$R/etc/fstab"
mkdir -p "$R/etc/network"
# eth0 comes up when udev sees it (ifup@eth0), so boot does not wait in
# ifupdown-pre's "udevadm settle"; e2scrub_reap is pointless on a throwaway disk.
printf 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n' > "$R/etc/network/interfaces"
chroot "$R" systemctl mask ifupdown-pre.service e2scrub_reap.service e2scrub_all.timer >/dev/null 2>&1 || true
install -d -m 0700 "$R/root/.ssh"
echo "$PUBKEY" > "$R/root/.ssh/authorized_keys"
chmod 0600 "$R/root/.ssh/authorized_keys"
chroot "$R" systemctl enable ssh >/dev/null 2>&1 || true
chroot "$R" systemctl set-default multi-user.target >/dev/null
# Slow emulated boots must not give up on the network or on apt timers.
chroot "$R" systemctl mask apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true
mkdir -p "$R/etc/systemd/system/networking.service.d"
printf '[Service]\nTimeoutStartSec=3min\n' > "$R/etc/systemd/system/networking.service.d/memwise-vm.conf"
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
# The package lists stay: installing a package (systemd-oomd) then needs no
# apt-get update, which takes minutes in an emulated guest. The recipe names the
# week, so the lists (and the packages) are at most a week older than the mirror.
rm -rf "$R/var/cache/apt/archives/"*.deb
"""


def image_dir(release):
    if release not in RELEASES:
        raise VmError("unknown release %r; known: %s" % (release, ", ".join(sorted(RELEASES))))
    _key, pub = ssh_key()
    rec = recipe(release, pub)
    return os.path.join(cache_dir(), "images", "%s-%s" % (release, recipe_hash(rec))), rec


def pick_kernel(boot):
    """Return (vmlinuz, initrd) of the newest kernel in a /boot directory."""

    def vkey(path):
        ver = os.path.basename(path).split("-", 1)[1]
        return [int(p) if p.isdigit() else p for p in re.split(r"[.-]", ver)]

    kernels = sorted(glob.glob(os.path.join(boot, "vmlinuz-*")), key=vkey)
    if not kernels:
        raise VmError("no kernel in %s" % boot)
    vmlinuz = kernels[-1]
    initrd = os.path.join(boot, "initrd.img-" + os.path.basename(vmlinuz).split("-", 1)[1])
    if not os.path.exists(initrd):
        raise VmError("kernel %s has no initrd" % vmlinuz)
    return vmlinuz, initrd


def remove_tree(path):
    """Remove a build tree, first detaching mounts a killed debootstrap left in it."""
    path = os.path.realpath(path)
    with open("/proc/mounts") as f:
        mounts = [line.split()[1].replace("\\040", " ") for line in f]
    for mnt in sorted((m for m in mounts if m == path or m.startswith(path + "/")), reverse=True):
        subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(path, ignore_errors=True)


def build_images(releases, mirror=None):
    """Build (or reuse) several base images side by side; return {release: dir}."""
    releases = sorted(set(releases))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {r: pool.submit(build_image, r, mirror) for r in releases}
        return {r: f.result() for r, f in futures.items()}


def build_image(release, mirror=None):
    """Return the directory of the base image for release, building it if needed."""
    final, rec = image_dir(release)
    if os.path.exists(os.path.join(final, "manifest.json")):
        return final
    images = os.path.dirname(final)
    os.makedirs(images, exist_ok=True)
    with Locked(os.path.join(images, ".%s.lock" % release)):
        if os.path.exists(os.path.join(final, "manifest.json")):
            return final
        for stale in glob.glob(os.path.join(images, ".build-%s-*" % release)):
            remove_tree(stale)  # left by a build that was killed; we hold its lock now
        mirror = host_mirror(mirror)
        for tool in ("debootstrap", "mkfs.ext4", "qemu-img"):
            if not shutil.which(tool):
                raise VmError("%s is missing: apt-get install debootstrap e2fsprogs qemu-utils" % tool)
        started = time.time()
        work = tempfile.mkdtemp(prefix=".build-%s-" % release, dir=images)
        try:
            rootfs = os.path.join(work, "rootfs")
            log("building the %s base image from %s (about 2 minutes)" % (release, mirror))
            run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), release, rootfs, mirror])
            run(["sh", "-c", CUSTOMISE, "customise", rootfs, "memwise-" + release, rec["pubkey"]])
            vmlinuz, initrd = pick_kernel(os.path.join(rootfs, "boot"))
            shutil.copy(vmlinuz, os.path.join(work, "vmlinuz"))
            shutil.copy(initrd, os.path.join(work, "initrd.img"))
            raw = os.path.join(work, "disk.raw")
            run(["mkfs.ext4", "-q", "-d", rootfs, "-L", "root", raw, IMAGE_SIZE])
            run(["qemu-img", "convert", "-O", "qcow2", raw, os.path.join(work, "disk.qcow2")])
            os.unlink(raw)
            shutil.rmtree(rootfs)
            manifest = dict(
                rec,
                kernel=os.path.basename(vmlinuz),
                mirror=mirror,
                built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                build_seconds=round(time.time() - started, 1),
            )
            with open(os.path.join(work, "manifest.json"), "w") as f:
                json.dump(manifest, f, indent=2)
            os.rename(work, final)
        except BaseException:
            remove_tree(work)
            raise
        for old in glob.glob(os.path.join(images, release + "-*")):
            if old != final:
                remove_tree(old)
        log("built %s in %.0f s" % (final, time.time() - started))
    return final


# ---------------------------------------------------------------- accelerator


def qemu_base(image, accel, mem, name):
    return [
        "qemu-system-x86_64",
        "-name",
        "%s,process=%s-%s" % (name, QEMU_MARK, name),
        "-accel",
        accel,
        "-m",
        str(mem),
        "-smp",
        "1",
        "-nodefaults",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-kernel",
        os.path.join(image, "vmlinuz"),
        "-initrd",
        os.path.join(image, "initrd.img"),
        # A new generation ID on every start: a guest restored from a snapshot
        # reseeds its random generator instead of repeating the saved one.
        "-device",
        "vmgenid",
    ]


def probe_kvm(image):
    """Boot the base image under KVM briefly; True when systemd starts in time."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    key = hashlib.sha256(
        (
            "%s|%s|%s"
            % (
                os.uname().release,
                run(["qemu-system-x86_64", "--version"]).splitlines()[0],
                [ln for ln in open("/proc/cpuinfo") if ln.startswith("model name")][:1],
            )
        ).encode()
    ).hexdigest()[:16]
    record = os.path.join(cache_dir(), "kvm-probe-%s.json" % key)
    if os.path.exists(record):
        with open(record) as f:
            return json.load(f)["works"]
    work = tempfile.mkdtemp(prefix="kvm-probe-", dir=cache_dir())
    overlay = os.path.join(work, "probe.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(image, "disk.qcow2"), "-F", "qcow2", overlay])
    argv = qemu_base(image, "kvm", 512, "kvm-probe") + [
        "-append",
        "root=/dev/vda rw console=ttyS0",
        "-no-reboot",
        "-drive",
        "file=%s,if=virtio,format=qcow2" % overlay,
    ]
    logpath = os.path.join(work, "serial.log")
    works = False
    with open(logpath, "w") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            with open(logpath, errors="replace") as f:
                console = f.read()
            if "systemd[1]" in console or "Welcome to" in console:
                works = True
                break
        proc.kill()
        proc.wait()
    shutil.rmtree(work, ignore_errors=True)
    with open(record, "w") as f:
        json.dump({"works": works, "probed": time.time()}, f)
    log("KVM probe: %s" % ("works" if works else "does not boot a guest, using TCG"))
    return works


def choose_accel(image):
    wanted = os.environ.get("MEMWISE_VM_ACCEL", "auto")
    if wanted not in ("auto", "kvm", "tcg"):
        raise VmError("MEMWISE_VM_ACCEL must be auto, kvm or tcg, not %r" % wanted)
    if wanted == "kvm" or (wanted == "auto" and probe_kvm(image)):
        return "kvm"
    return "tcg,tb-size=128"


# ---------------------------------------------------------------- VMs


def parse_vm_spec(spec):
    """NAME:RELEASE[:disk=SIZE][:mem=MB] -> dict."""
    parts = spec.split(":")
    if len(parts) < 2 or not re.match(r"^[a-z0-9][a-z0-9-]*$", parts[0]):
        raise VmError("bad VM spec %r: expected NAME:RELEASE[:disk=SIZE][:mem=MB]" % spec)
    vm = {"name": parts[0], "release": parts[1], "disk": None, "memory": 1024}
    if vm["release"] not in RELEASES:
        raise VmError("bad VM spec %r: release must be one of %s" % (spec, ", ".join(RELEASES)))
    for opt in parts[2:]:
        key, _sep, value = opt.partition("=")
        if key == "disk" and re.match(r"^\d+[KMG]$", value):
            vm["disk"] = value
        elif key == "mem" and value.isdigit():
            vm["memory"] = int(value)
        else:
            raise VmError("bad VM spec %r: unknown option %r" % (spec, opt))
    return vm


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_start_time(pid):
    """Start time of a live process (None when gone or a zombie): PID reuse cannot fool it."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def alive(pid, start=None):
    now = proc_start_time(pid)
    return now is not None and (start is None or now == start)


def ssh_argv(key, port, *cmd):
    return ["ssh"] + SSH_OPTS + ["-i", key, "-p", str(port), "root@127.0.0.1"] + list(cmd)


def guard(args):
    """Run qemu as a child and stop it (and remove its disks) when the owner dies."""
    with open(args.meta) as f:
        meta = json.load(f)
    with open(meta["log"], "ab") as out:
        proc = subprocess.Popen(meta["argv"], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    meta["pid"] = proc.pid
    meta["guard_pid"] = os.getpid()
    tmp = args.meta + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=2)
    os.rename(tmp, args.meta)

    def stop(*_args):
        terminate(proc.pid)
        cleanup_files(meta)
        os._exit(0)

    def owner_gone():
        # The session was killed outright (SIGKILL): end the rest of the work it
        # ran (Molecule, ansible-playbook) too, then this VM.
        group = meta.get("owner_group")
        if group and group != os.getpgid(0):
            try:
                os.killpg(group, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    owner, owner_start = meta.get("owner"), meta.get("owner_start")
    while proc.poll() is None:
        if owner and not alive(owner, owner_start):
            owner_gone()
        time.sleep(1)
    if owner and not alive(owner, owner_start):
        cleanup_files(meta)


def terminate(pid, grace=8):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + grace
    while time.time() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            if not alive(pid):
                return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cleanup_files(meta):
    """Remove a stopped VM's disks; for a snapshot VM stopped before its state was
    saved, its whole work directory (a half-made snapshot is never kept)."""
    for path in (meta.get("overlay"), meta.get("extra_disk")):
        if path and os.path.exists(path):
            os.unlink(path)
    if meta.get("workdir") and os.path.isdir(meta["workdir"]):
        remove_tree(meta["workdir"])


def owner_pid():
    value = os.environ.get("MEMWISE_VM_OWNER_PID")
    if not value:
        return None, None
    pid = int(value)
    if not alive(pid):
        raise VmError("MEMWISE_VM_OWNER_PID=%d is not running" % pid)
    return pid, proc_start_time(pid)


def vm_argv(vm, image, accel, *, overlay, extra, port):
    """The qemu command line of a VM; a snapshot and its restores differ only in paths and port."""
    argv = qemu_base(image, accel, vm["memory"], vm["name"]) + [
        "-append",
        "root=/dev/vda rw console=ttyS0 quiet net.ifnames=0 systemd.hostname=%s" % vm["name"],
        # Explicit devices in a fixed order: the root disk always probes as
        # /dev/vda, the extra disk as /dev/vdb (if=virtio drives are created
        # after -device ones and would swap the names).
        "-drive",
        "file=%s,if=none,id=disk1,format=qcow2" % overlay,
        "-device",
        "virtio-blk-pci,drive=disk1,serial=memwise-root",
        "-netdev",
        "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22" % port,
        "-device",
        "virtio-net-pci,netdev=n0",
    ]
    if extra:
        argv += [
            "-drive",
            "file=%s,if=none,id=disk2,format=qcow2" % extra,
            "-device",
            "virtio-blk-pci,drive=disk2,serial=memwise-disk2",
        ]
    return argv


def spawn_guard(script, state, name, meta):
    """Write ``meta`` to ``STATE/NAME.json`` and start ``script _guard`` on it in a session of its own
    (so a signal to the caller's group does not reach it); return the meta file's path."""
    metapath = os.path.join(state, name + ".json")
    with open(metapath, "w") as f:
        json.dump(meta, f, indent=2)
    with open(os.path.join(state, name + ".guard.log"), "w") as glog:
        subprocess.Popen(
            [sys.executable, script, "_guard", "--meta", metapath],
            stdin=subprocess.DEVNULL,
            stdout=glog,
            stderr=glog,
            start_new_session=True,
            close_fds=True,
        )
    return metapath


def start_vm(vm, state, key, accel, image, *, snapshot=None, qmp=None, keep_overlay=False, workdir=None):
    """Start one VM under its guard: cold from the base image, or restored from ``snapshot``."""
    name = vm["name"]
    overlay = os.path.join(state, name + ".qcow2")
    backing = os.path.join(snapshot or image, "disk.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay])
    extra = None
    if vm["disk"]:
        extra = os.path.join(state, name + "-disk2.qcow2")
        run(["qemu-img", "create", "-q", "-f", "qcow2", extra, vm["disk"]])
    port = free_port()
    argv = vm_argv(vm, image, accel, overlay=overlay, extra=extra, port=port)
    if snapshot:
        argv += ["-incoming", "exec:cat %s" % shlex.quote(os.path.join(snapshot, "state"))]
    if qmp:
        argv += ["-qmp", "unix:%s,server=on,wait=off" % qmp]
    owner, owner_start = owner_pid()
    meta = dict(
        vm,
        port=port,
        overlay=None if keep_overlay else overlay,
        extra_disk=extra,
        workdir=workdir,
        argv=argv,
        accel=accel,
        log=os.path.join(state, name + ".log"),
        key=key,
        owner=owner,
        owner_start=owner_start,
        owner_group=os.getpgid(0) if owner else None,
        image=image,
        snapshot=snapshot,
        started=time.time(),
    )
    open(meta["log"], "w").close()
    metapath = spawn_guard(os.path.abspath(__file__), state, name, meta)
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(metapath) as f:
            meta = json.load(f)
        if meta.get("pid"):
            return meta
        time.sleep(0.1)
    raise VmError("qemu for %s did not start; see %s.guard.log" % (name, name))


# ---------------------------------------------------------------- snapshots


def qemu_version():
    return run(["qemu-system-x86_64", "--version"]).splitlines()[0]


def snapshot_key(vm, image, accel, qemu):
    """The cache name of the snapshot a VM can be restored from.

    Everything the migration stream depends on is in it: the image (its name
    carries the recipe hash), memory, the extra disk's size, the accelerator,
    the qemu version and the shape of the command line.
    """
    shape = vm_argv(
        dict(vm, name="snapshot"),
        image,
        accel,
        overlay="disk.qcow2",
        extra="disk2.qcow2" if vm["disk"] else None,
        port=22,
    )
    digest = hashlib.sha256(json.dumps([SNAPSHOT_VERSION, qemu, shape]).encode()).hexdigest()[:12]
    return "%s-m%d%s-%s" % (
        os.path.basename(image),
        vm["memory"],
        "-d" + vm["disk"] if vm["disk"] else "",
        digest,
    )


class Qmp:
    """A minimal QMP client over qemu's unix socket."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise VmError("no QMP socket at %s after %d s" % (path, timeout)) from None
                time.sleep(0.2)
        self.sock.settimeout(120)
        self.stream = self.sock.makefile("rw")
        self._reply()  # the greeting
        self.execute("qmp_capabilities")

    def _reply(self):
        while True:
            line = self.stream.readline()
            if not line:
                raise VmError("qemu closed its QMP socket")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.stream.write(json.dumps(request) + "\n")
        self.stream.flush()
        reply = self._reply()
        if "error" in reply:
            raise VmError("QMP %s failed: %s" % (command, reply["error"].get("desc")))
        return reply.get("return")

    def close(self):
        self.stream.close()
        self.sock.close()


def save_snapshot(qmp_path, target, timeout=300):
    """Write the running VM's migration stream to ``target`` and quit qemu.

    The VM is not paused first: a stream saved from a paused VM restores
    paused. Migration stops the VM itself for its last pass, so memory and
    disk are saved at the same instant.
    """
    qmp = Qmp(qmp_path)
    try:
        # qemu's default migration bandwidth (32 MiB/s) would make this the slow part.
        qmp.execute("migrate-set-parameters", **{"max-bandwidth": 8 << 30})
        qmp.execute("migrate", uri="exec:cat > %s" % shlex.quote(target))
        deadline = time.time() + timeout
        while True:
            status = qmp.execute("query-migrate").get("status")
            if status == "completed":
                break
            if status in ("failed", "cancelled") or time.time() > deadline:
                raise VmError("saving the VM's state ended as %s" % status)
            time.sleep(0.2)
        qmp.execute("quit")
    finally:
        qmp.close()


def snapshots_dir():
    path = os.path.join(cache_dir(), "snapshots")
    os.makedirs(path, exist_ok=True)
    return path


SNAPSHOT_LOCK = re.compile(r"^(?P<image>.+)-m\d+(?:-d\w+)?-[0-9a-f]{12}\.lock$")
STALE_WORK = 3600  # a snapshot is saved within minutes; older work dirs are orphans


def prune_snapshots(root):
    """Remove snapshots whose base image was rebuilt (their backing file is gone),
    their lock files, and work directories a killed run left behind."""
    for manifest in glob.glob(os.path.join(root, "*", "manifest.json")):
        with open(manifest) as f:
            image = json.load(f).get("image", "")
        if not os.path.exists(os.path.join(image, "disk.qcow2")):
            remove_tree(os.path.dirname(manifest))
    images = os.path.join(cache_dir(), "images")
    for name in os.listdir(root):
        path = os.path.join(root, name)
        match = SNAPSHOT_LOCK.match(name)
        if match and not os.path.exists(os.path.join(images, match.group("image"))):
            os.unlink(path)
        elif name.startswith(".make-") and _orphan_work(path):
            remove_tree(path)


def _orphan_work(path):
    """A snapshot work directory whose VM is gone (or that never got one) and is old."""
    try:
        with open(os.path.join(path, "snapshot.json")) as f:
            meta = json.load(f)
        if alive(meta.get("guard_pid") or 0) or alive(meta.get("pid") or 0):
            return False
    except (OSError, ValueError):
        pass
    try:
        return time.time() - os.path.getmtime(path) > STALE_WORK
    except OSError:
        return False


def make_snapshot(vm, image, accel, key, timeout):
    """Return the snapshot directory for VMs like ``vm``, booting one cold to save it if needed."""
    root = snapshots_dir()
    final = os.path.join(root, snapshot_key(vm, image, accel, qemu_version()))
    if os.path.exists(os.path.join(final, "manifest.json")):
        return final
    with Locked(final + ".lock"):
        if os.path.exists(os.path.join(final, "manifest.json")):
            return final
        prune_snapshots(root)
        started = time.time()
        work = tempfile.mkdtemp(prefix=".make-", dir=root)
        qmp_dir = tempfile.mkdtemp(prefix="memwise-qmp-")  # a unix socket path must stay short
        snap_vm = dict(vm, name="snapshot")
        try:
            log(
                "saving a snapshot for %s VMs with %d MiB%s (one cold boot)"
                % (vm["release"], vm["memory"], " and a %s disk" % vm["disk"] if vm["disk"] else "")
            )
            meta = start_vm(
                snap_vm, work, key, accel, image, qmp=os.path.join(qmp_dir, "qmp"), keep_overlay=True, workdir=work
            )
            wait_ssh([meta], timeout)
            # Save a settled system: boot jobs done, file systems written back.
            guest(meta, "timeout 240 systemctl is-system-running --wait >/dev/null || true; sync", timeout=300)
            save_snapshot(os.path.join(qmp_dir, "qmp"), os.path.join(work, "state"))
            wait_gone(meta)
            os.rename(os.path.join(work, "snapshot.qcow2"), os.path.join(work, "disk.qcow2"))
            for leftover in ("snapshot-disk2.qcow2", "snapshot.json"):
                if os.path.exists(os.path.join(work, leftover)):
                    os.unlink(os.path.join(work, leftover))
            with open(os.path.join(work, "manifest.json"), "w") as f:
                json.dump(
                    dict(
                        snapshot_version=SNAPSHOT_VERSION,
                        image=image,
                        release=vm["release"],
                        memory=vm["memory"],
                        disk=vm["disk"],
                        accel=accel,
                        boot_seconds=meta.get("ssh_seconds"),
                        save_seconds=round(time.time() - started, 1),
                        state_bytes=os.path.getsize(os.path.join(work, "state")),
                    ),
                    f,
                    indent=2,
                )
            os.rename(work, final)
        except BaseException:
            stop_vm(os.path.join(work, "snapshot.json"))
            remove_tree(work)
            raise
        finally:
            shutil.rmtree(qmp_dir, ignore_errors=True)
        log("saved %s in %.0f s" % (os.path.basename(final), time.time() - started))
    return final


def wait_gone(meta, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not alive(meta["pid"]) and not alive(meta["guard_pid"]):
            return
        time.sleep(0.2)
    raise VmError("qemu for %s did not exit after saving its state" % meta["name"])


def guest(meta, script, timeout=120):
    """Run a shell script in a VM as root over SSH; return its output."""
    proc = subprocess.run(
        ssh_argv(meta["key"], meta["port"], "sh", "-s"),
        input=script,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise VmError("%s: script failed (rc=%d):\n%s" % (meta["name"], proc.returncode, proc.stdout[-2000:]))
    return proc.stdout


# ---------------------------------------------------------------- identity

HOST_KEY_TYPES = (("ed25519", []), ("ecdsa", ["-b", "256"]), ("rsa", ["-b", "3072"]))


def host_keys(name):
    """SSH host keys for one VM, generated on the host (fast there, slow in an emulated guest)."""
    keys = {}
    with tempfile.TemporaryDirectory(prefix="memwise-hostkeys-") as tmp:
        for kind, extra in HOST_KEY_TYPES:
            path = os.path.join(tmp, "ssh_host_%s_key" % kind)
            run(["ssh-keygen", "-q", "-t", kind] + extra + ["-N", "", "-C", "root@" + name, "-f", path])
            for suffix in ("", ".pub"):
                with open(path + suffix) as f:
                    keys[os.path.basename(path) + suffix] = f.read()
    return keys


def identity_script(name, machine_id, keys, now, seed):
    """The shell script that makes a started VM its own host (pure: tested without a VM)."""
    lines = [
        "set -eu",
        "date -u -s @%d >/dev/null" % now,
        "printf '%%s' %s > /dev/urandom" % seed,
        "if mountpoint -q /etc/machine-id; then umount /etc/machine-id; fi",
        "printf '%%s\\n' %s > /etc/machine-id" % machine_id,
        "rm -f /var/lib/dbus/machine-id",
        # journald files its entries under its machine-id and journalctl reads only the
        # local one: restarted, it writes under the new id, or journalctl finds nothing.
        "systemctl restart systemd-journald.service",
        "hostname %s" % name,
        "printf '%%s\\n' %s > /etc/hostname" % name,
        "sed -i 's/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1\\t%s/' /etc/hosts" % name,
        "rm -f /etc/ssh/ssh_host_*",
    ]
    for fname in sorted(keys):
        path = "/etc/ssh/" + fname
        lines += [
            "cat > %s <<'MEMWISE_KEY'" % path,
            keys[fname].rstrip("\n"),
            "MEMWISE_KEY",
            "chmod %s %s" % ("0644" if fname.endswith(".pub") else "0600", path),
        ]
    lines.append("systemctl try-reload-or-restart ssh.service")
    return "\n".join(lines) + "\n"


def set_identity(meta):
    name = meta["name"]
    script = identity_script(
        name,
        os.urandom(16).hex(),
        host_keys(name),
        int(time.time()),
        os.urandom(32).hex(),
    )
    guest(meta, script)


def wait_ssh(metas, timeout):
    pending = {m["name"]: m for m in metas}
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        for name, meta in list(pending.items()):
            if not alive(meta["pid"]):
                with open(meta["log"], errors="replace") as f:
                    tail = f.read()[-3000:]
                raise VmError("VM %s exited during boot; console log tail:\n%s" % (name, tail))
            probe = subprocess.run(
                ssh_argv(meta["key"], meta["port"], "true"),
                check=False,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if probe.returncode == 0:
                meta["ssh_seconds"] = round(time.time() - meta["started"], 1)
                log(
                    "%s answers on SSH port %d after %.1f s (%s)"
                    % (name, meta["port"], meta["ssh_seconds"], "restored" if meta.get("snapshot") else "cold boot")
                )
                del pending[name]
        time.sleep(1)
    if pending:
        raise VmError(
            "no SSH after %d s from: %s (console logs in the state dir)" % (timeout, ", ".join(sorted(pending)))
        )


def _ssh_output(key, port, command, timeout):
    """stdout of ``command`` in the VM, or None when it does not answer (yet)."""
    try:
        proc = subprocess.run(
            ssh_argv(key, port, command),
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def reboot(key, port, timeout=600, poll=1.0):
    """Reboot a VM for real (``systemctl reboot`` in the guest) and wait for its next boot to finish.

    Ansible's reboot action probes the distribution, backs off up to 12 s between
    tries, and its multiplexed SSH master hangs on qemu's half-open forwarded
    connection; this polls a fresh SSH connection every second instead, and waits
    for the new boot ID and ``systemctl is-system-running --wait`` (as a cold boot
    does before a snapshot is saved). Returns ``{seconds, boot_id, state}``.
    """
    started = time.time()
    old = _ssh_output(key, port, "cat /proc/sys/kernel/random/boot_id", 30)
    if not old:
        raise VmError("the VM on port %d does not answer on SSH; nothing was rebooted" % port)
    # The reboot starts a second later, so this SSH command returns cleanly first.
    # AccuracySec: a transient timer's default accuracy is a minute, and systemd
    # fired this one-second timer 10 to 60 s late (measured), which the wait paid.
    command = "systemd-run --quiet --on-active=1 --timer-property=AccuracySec=100ms systemctl reboot && echo ok"
    if _ssh_output(key, port, command, 30) != "ok":
        raise VmError("the VM on port %d did not accept systemctl reboot" % port)
    deadline = started + timeout
    while time.time() < deadline:
        time.sleep(poll)
        new = _ssh_output(key, port, "cat /proc/sys/kernel/random/boot_id", 10)
        if new and new != old:
            state = _ssh_output(
                key,
                port,
                "timeout %d systemctl is-system-running --wait; true" % max(1, int(deadline - time.time())),
                timeout + 30,
            )
            return {"seconds": round(time.time() - started, 1), "boot_id": new, "state": state}
    raise VmError("the VM on port %d did not come back within %d s of its reboot" % (port, timeout))


def write_inventory(state, metas):
    instances = [
        {
            "instance": m["name"],
            "address": "127.0.0.1",
            "user": "root",
            "port": m["port"],
            "identity_file": m["key"],
            "release": m["release"],
            "debian": RELEASES[m["release"]],
            "ssh_seconds": m.get("ssh_seconds"),
            "accel": m["accel"],
            "start": "snapshot" if m.get("snapshot") else "cold",
        }
        for m in metas
    ]
    with open(os.path.join(state, "instances.json"), "w") as f:
        json.dump(instances, f, indent=2)
    lines = ["all:", "  hosts:"]
    for i in instances:
        lines += [
            "    %s:" % i["instance"],
            "      ansible_host: 127.0.0.1",
            "      ansible_port: %d" % i["port"],
            "      ansible_user: root",
            "      ansible_ssh_private_key_file: %s" % i["identity_file"],
            "      ansible_ssh_common_args: '%s'" % " ".join(SSH_OPTS[:-2]),
            "      ansible_python_interpreter: /usr/bin/python3",
            "      memwise_vm_release: %s" % i["release"],
        ]
    with open(os.path.join(state, "inventory.yml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return instances


def parse_platforms(text):
    """Molecule platforms (JSON list of {name, release, disk, memory}) -> VM dicts."""
    try:
        platforms = json.loads(text)
    except ValueError as exc:
        raise VmError("--platforms is not JSON: %s" % exc) from None
    vms = []
    for p in platforms:
        unknown = sorted(set(p) - {"name", "release", "disk", "memory", "groups", "children"})
        if unknown:
            raise VmError(
                "platform %s: unknown key(s) %s; known: name, release, disk, memory"
                % (p.get("name"), ", ".join(unknown))
            )
        spec = "%s:%s" % (p.get("name"), p.get("release", "bookworm"))
        if p.get("disk"):
            spec += ":disk=%s" % p["disk"]
        if p.get("memory"):
            spec += ":mem=%s" % p["memory"]
        vms.append(parse_vm_spec(spec))
    return vms


def use_snapshots():
    value = os.environ.get("MEMWISE_VM_SNAPSHOT", "1")
    if value not in ("0", "1"):
        raise VmError("MEMWISE_VM_SNAPSHOT must be 1 (restore from snapshots) or 0 (boot cold), not %r" % value)
    return value == "1"


def up(args):
    vms = [parse_vm_spec(s) for s in args.vm or []]
    if args.platforms:
        vms += parse_platforms(args.platforms)
    if not vms:
        raise VmError("up needs --vm NAME:RELEASE or --platforms JSON")
    names = [v["name"] for v in vms]
    if len(set(names)) != len(names):
        raise VmError("VM names must be unique: %s" % ", ".join(names))
    state = os.path.abspath(args.state_dir)
    os.makedirs(state, exist_ok=True)
    key, _pub = ssh_key()
    images = build_images([v["release"] for v in vms], args.mirror)
    accel = choose_accel(images[vms[0]["release"]])
    snapshots = {}
    if use_snapshots():
        kinds = {}
        for vm in vms:
            kinds.setdefault((vm["release"], vm["memory"], vm["disk"]), vm)
        # Missing snapshots are saved side by side, as cold boots would run.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {
                kind: pool.submit(make_snapshot, vm, images[vm["release"]], accel, key, args.timeout)
                for kind, vm in kinds.items()
            }
            snapshots = {kind: f.result() for kind, f in futures.items()}
    try:
        metas = start_all(vms, state, key, accel, images, snapshots=snapshots, timeout=args.timeout)
    except VmError as exc:
        if not snapshots:
            raise
        # A snapshot that does not come back (another qemu build, a damaged file)
        # must not fail the tests: drop the snapshots and boot these VMs cold.
        log("restoring from a snapshot failed (%s); removing the snapshots and booting cold" % exc)
        for path in set(snapshots.values()):
            remove_tree(path)
        metas = start_all(vms, state, key, accel, images, snapshots={}, timeout=args.timeout)
    print(json.dumps(write_inventory(state, metas), indent=2))


RESTORE_TIMEOUT = 120


def start_all(vms, state, key, accel, images, *, snapshots, timeout):
    """Start every VM (restored when ``snapshots`` has its kind), wait for SSH, set identities.

    On any failure every VM started here is stopped again before the error goes up.
    """
    metas = []
    try:
        for vm in vms:
            if os.path.exists(os.path.join(state, vm["name"] + ".json")):
                stop_vm(os.path.join(state, vm["name"] + ".json"))
            snapshot = snapshots.get((vm["release"], vm["memory"], vm["disk"]))
            metas.append(start_vm(vm, state, key, accel, images[vm["release"]], snapshot=snapshot))
        wait_ssh(metas, min(timeout, RESTORE_TIMEOUT) if snapshots else timeout)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(set_identity, metas))
    except BaseException:
        for meta in metas:
            stop_vm(os.path.join(state, meta["name"] + ".json"))
        raise
    return metas


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().replace("\0", " ")
    except OSError:
        return ""


def stop_vm(metapath):
    """Stop one VM by its PID file (only if the PID is still that VM) and remove its disks."""
    try:
        with open(metapath) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return
    if not isinstance(meta, dict) or "argv" not in meta:
        return  # not a VM's record (another JSON file in the state dir)
    pid, gpid = meta.get("pid"), meta.get("guard_pid")
    if pid and alive(pid) and meta["overlay"] in cmdline(pid):
        terminate(pid)
    if gpid and alive(gpid) and metapath in cmdline(gpid):
        terminate(gpid, grace=3)
    cleanup_files(meta)
    os.unlink(metapath)


def down(args):
    state = os.path.abspath(args.state_dir)
    for metapath in sorted(glob.glob(os.path.join(state, "*.json"))):
        if not metapath.endswith("instances.json"):
            stop_vm(metapath)
    for path in ("instances.json", "inventory.yml"):
        if os.path.exists(os.path.join(state, path)):
            os.unlink(os.path.join(state, path))


def harness_processes(kind="qemu", owner=None):
    """(pid, cmdline) of the harness's qemu processes (kind="qemu") or VM guards
    (kind="guard") on this host; with ``owner``, only those booted under that session."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry) as f:
                cmd = f.read().split("\0")
            environ = ""
            if owner is not None:
                with open("/proc/%s/environ" % entry) as f:
                    environ = f.read()
        except OSError:
            continue
        if kind == "qemu":
            match = cmd[0].endswith("qemu-system-x86_64") and any(QEMU_MARK in c for c in cmd)
        else:
            match = "_guard" in cmd and any(c.endswith("vmctl.py") for c in cmd)
        if match and (owner is None or "MEMWISE_VM_OWNER_PID=%d\0" % owner in environ + "\0"):
            found.append((int(entry), " ".join(cmd)))
    return found


def stop_session_vms(owner):
    """Ask every guard of a session to stop its VM; wait until they are gone."""
    guards = harness_processes("guard", owner)
    for pid, _cmd in guards:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 15
    while time.time() < deadline and any(alive(pid) for pid, _cmd in guards):
        time.sleep(0.2)


def session(args):
    """Run a command; stop it and every VM booted under it when it ends or is killed.

    The command runs in its own process group. SIGINT/SIGTERM/SIGHUP to this
    process, or the death of the watched process (``--watch-pid``, default the
    parent; the Makefile passes ``make``'s PID), end that group: SIGTERM, then
    SIGKILL after a grace period. Each VM's guard watches this process and
    stops its qemu and deletes its overlay when it is gone, also when this
    process itself is killed with SIGKILL.
    """
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        raise VmError("session needs a command after --")
    env = dict(os.environ, MEMWISE_VM_OWNER_PID=str(os.getpid()))
    watched = args.watch_pid or os.getppid()
    watched_start = proc_start_time(watched)
    child = subprocess.Popen(cmd, env=env, start_new_session=True)
    stopping = []

    def stop(*_args):
        stopping.append(time.time())
        try:
            os.killpg(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    while True:
        try:
            rc = child.wait(timeout=1)
            break
        except subprocess.TimeoutExpired:
            pass
        if not stopping and not alive(watched, watched_start):
            log("session: process %d is gone, stopping %s" % (watched, cmd[0]))
            stop()
        if stopping and time.time() - stopping[0] > 20:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        os.killpg(child.pid, signal.SIGKILL)  # stragglers of the group
    except ProcessLookupError:
        pass
    if stopping:
        # Stop this session's VMs now rather than when the guards notice.
        stop_session_vms(os.getpid())
        return 128 + signal.SIGTERM if rc == 0 else rc
    return rc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("image")
    p.add_argument("--release", action="append", required=True, choices=sorted(RELEASES))
    p.add_argument("--mirror")
    p = sub.add_parser("up")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--vm", action="append")
    p.add_argument("--platforms", help="JSON list of Molecule platforms")
    p.add_argument("--mirror")
    p.add_argument("--timeout", type=int, default=300)
    p = sub.add_parser("down")
    p.add_argument("--state-dir", required=True)
    p = sub.add_parser("session")
    p.add_argument("--watch-pid", type=int, help="stop when this process dies (default: the parent)")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("reboot", help="reboot a VM for real and wait for its next boot (scenarios' reboots)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--timeout", type=int, default=600)
    sub.add_parser("accel")
    sub.add_parser("ps")
    sub.add_parser("mirror")
    p = sub.add_parser("_guard")
    p.add_argument("--meta", required=True)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "image":
            for _release, path in sorted(build_images(args.release, args.mirror).items()):
                print(path)
        elif args.cmd == "up":
            up(args)
        elif args.cmd == "down":
            down(args)
        elif args.cmd == "session":
            return session(args)
        elif args.cmd == "reboot":
            print(json.dumps(reboot(args.key, args.port, args.timeout)))
        elif args.cmd == "accel":
            print(choose_accel(build_image("bookworm")))
        elif args.cmd == "ps":
            for pid, cmd in harness_processes("qemu"):
                print(pid, cmd)
        elif args.cmd == "mirror":
            print(host_mirror())
        elif args.cmd == "_guard":
            guard(args)
    except VmError as exc:
        log("error: %s" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
