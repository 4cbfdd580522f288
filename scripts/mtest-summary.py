#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run 'meson test' and print one closing line: 'N passed, N failed, N skipped'.

    mtest-summary.py BUILDDIR [meson test arguments...]

Every test program speaks TAP (GTest's --tap), so the count is per test
case, not per program.  A program that dies without reporting a case (a
crash, a timeout) counts as one failure on top of its reported cases.
"""
import json
import os
import re
import subprocess
import sys

TAP = re.compile(r'^(ok|not ok)\b(.*)$')


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    builddir = sys.argv[1]
    args = ['meson', 'test', '-C', builddir, '--print-errorlogs'] + sys.argv[2:]
    print('+ ' + ' '.join(args), flush=True)
    rc = subprocess.call(args)
    log = os.path.join(builddir, 'meson-logs', 'testlog.json')
    passed = failed = skipped = 0
    failures = []
    try:
        with open(log) as f:
            entries = [json.loads(line) for line in f if line.strip()]
    except OSError:
        entries = []
    for e in entries:
        p = fl = sk = 0
        for line in (e.get('stdout') or '').splitlines():
            m = TAP.match(line.strip())
            if not m:
                continue
            rest = m.group(2)
            if '# SKIP' in rest or '# skip' in rest:
                sk += 1
            elif m.group(1) == 'ok':
                p += 1
            elif '# TODO' in rest:
                p += 1
            else:
                fl += 1
                failures.append('%s:%s' % (e.get('name'), rest))
        result = e.get('result', '')
        if result in ('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS') and fl == 0:
            fl += 1
            failures.append('%s: %s' % (e.get('name'), result))
        if result == 'SKIP' and p + fl + sk == 0:
            sk += 1
        if result == 'OK' and p + fl + sk == 0:
            p += 1
        passed += p
        failed += fl
        skipped += sk
    if failures:
        print('failed:')
        for f in failures:
            print('  ' + f)
    if not entries and rc != 0:
        failed += 1
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    sys.exit(0 if failed == 0 and rc == 0 else 1)


if __name__ == '__main__':
    main()
