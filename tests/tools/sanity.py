# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``ansible-test sanity`` offline on a staged copy of the collection.

ansible-test wants the collection under a real ``ansible_collections/NS/NAME``
directory (not a symlink) and downloads get-pip.py for its virtualenvs. This
script copies the files git knows (tracked and untracked-but-not-ignored) to
``.build/sanity/ansible_collections/memwise/linux`` (with a git index of its
own), puts an ``ensurepip`` shim
where ansible-test caches get-pip, and runs sanity there with ``--venv``.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pip_version():
    """The pip version ansible-test bootstraps (get_pip_<version>.py in its cache)."""
    import ansible_test

    path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(path) as f:
        match = re.search(r"pip='([0-9.]+)'", f.read())
    if not match:
        sys.exit("sanity: cannot find ansible-test's pip version in %s" % path)
    return match.group(1)


def install_shim():
    cache = os.path.join(os.path.expanduser("~"), ".ansible", "test", "cache")
    os.makedirs(cache, exist_ok=True)
    target = os.path.join(cache, "get_pip_%s.py" % pip_version().replace(".", "_"))
    shutil.copyfile(os.path.join(ROOT, "tests", "tools", "get_pip_shim.py"), target)


def stage():
    dest = os.path.join(ROOT, ".build", "sanity", "ansible_collections", "memwise", "linux")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    files = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if not os.path.lexists(src):
            continue  # deleted in the work tree
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel), follow_symlinks=False)
    # The copy lies inside this checkout's ignored .build/: give it its own git
    # index so ansible-test lists exactly the staged files.
    git = ["git", "-c", "user.name=sanity", "-c", "user.email=sanity@localhost"]
    subprocess.run(git + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    return dest


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--python", required=True, help="Python version for the sanity venvs")
    parser.add_argument("tests", nargs="*", help="run only these sanity tests")
    args = parser.parse_args()
    install_shim()
    dest = stage()
    argv = ["ansible-test", "sanity", "--venv", "--python", args.python, "--color", "no"]
    for test in args.tests:
        argv += ["--test", test]
    env = dict(os.environ)
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    return subprocess.call(argv, cwd=dest, env=env)


if __name__ == "__main__":
    sys.exit(main())
