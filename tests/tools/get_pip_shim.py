# Offline stand-in for get-pip.py, installed into ansible-test's cache by
# tests/tools/sanity.py. ansible-test runs get-pip to put pip into the
# virtualenvs it creates; this machine may reach PyPI but not the get-pip URL,
# so bootstrap pip from the standard library (ensurepip) and then install the
# pip version ansible-test asked for from the package index.
import os
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel", "--disable-pip-version-check")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
if args:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args, env=env)
