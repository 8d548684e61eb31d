#!/usr/bin/env bash
# make docs: the collection's docs site (module docs from the modules
# themselves plus docs/docsite/rst guides) with antsibull-docs and Sphinx,
# offline, into docs/_build/html. Fails on any Sphinx warning except
# references to the Ansible docs, which need the network (intersphinx).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
site=$root/.build/docsite
out=$root/docs/_build/html

rm -rf "$site" "$out"
mkdir -p "$site" && chmod 0700 "$site"
antsibull-docs sphinx-init --use-current --lenient --squash-hierarchy --sphinx-theme alabaster \
  --dest-dir "$site" --project memwise.linux --copyright "memwise.linux contributors" \
  --title memwise.linux memwise.linux >/dev/null
cat >> "$site/conf.py" <<'CONF'

# memwise.linux: build offline; links into docs.ansible.com stay unresolved.
extensions = [e for e in extensions if e != "sphinx.ext.intersphinx"]
intersphinx_mapping = {}
CONF
mkdir -p "$site/rst" && chmod 0700 "$site/rst"
antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --cleanup everything --use-current \
  --squash-hierarchy --dest-dir "$site/rst" memwise.linux
sphinx-build -q -b html -c "$site" -w "$site/warnings.txt" "$site/rst" "$out"
if grep -v -E "WARNING: undefined label: '(ansible_configuration_settings|common_return_values|action_plugins|ansible_collections\.ansible\.builtin\.[a-z_]+)'" \
    "$site/warnings.txt" | grep -q .; then
  echo "docs: Sphinx warnings:" >&2
  grep -v -E "undefined label: '(ansible_configuration_settings|common_return_values|action_plugins|ansible_collections\.ansible\.builtin\.)" "$site/warnings.txt" >&2
  exit 1
fi
echo "docs: $(find "$out" -name '*.html' | wc -l) pages in docs/_build/html (open index.html)"
