# Copyright: memwise.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the action plugin plugins/action/report_files.py, which does the work on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report_files
short_description: Write report files on the controller in one step, without a module run per file
version_added: 0.1.0
description:
  - Writes text files (the fleet report's C(report.json), C(report.md) and C(report.html)) into one directory on the
    B(controller), in the C(ansible-playbook) process itself, whatever host the task runs for; it creates the
    directory (mode C(0755)) when missing.
  - Each file is compared with what is on disk and written only when different, atomically (a temporary file in
    the same directory, renamed over the old one); an existing file keeps its mode and owner.
  - Replaces a C(file) task plus a C(copy) or C(template) task per file, which cost one or two module runs each
    (Python start-up and the module's imports on the controller); C(memwise.linux.gather) uses it once per run.
  - An action plugin; nothing runs on the managed host and no connection is made.
author:
  - memwise.linux contributors (@memwise)
extends_documentation_fragment:
  - memwise.linux._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is written and RV(changed_files) lists the files a real run would write.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  dest:
    description:
      - The directory on the controller. A relative path is relative to the working directory of
        C(ansible-playbook); C(~) is expanded.
    type: path
    required: true
  files:
    description:
      - File name (no directory part) to text. Render templates with the C(ansible.builtin.template) lookup.
    type: dict
    required: true
  mode:
    description:
      - Mode of the files created here; existing files keep theirs.
    type: str
    default: "0644"
seealso:
  - module: memwise.linux.memory_facts
"""

EXAMPLES = r"""
---
- name: Write a small report on the controller
  memwise.linux.report_files:
    dest: memwise-report
    files:
      summary.json: "{{ summary | ansible.builtin.to_nice_json }}\n"
      summary.md: "{{ lookup('ansible.builtin.template', 'summary.md.j2') }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
dest:
  description: The directory, absolute.
  returned: always
  type: str
  sample: /home/ops/memwise-report
changed_files:
  description: The files that were written (in check mode, that would be written), sorted.
  returned: always
  type: list
  elements: str
  sample: [report.html, report.json]
"""
