#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The main job of the README: boot the default guest and show it running.

    demo.py BUILDDIR

Starts godwit-system-riscv64 with the 'a-b' test guest on two vCPUs, talks
QMP to it exactly as a management layer would, shows the guest's serial
output advancing, the run state, the RAM blocks and the vCPU threads, then
stops, resumes and quits it.  Everything runs in a private temp directory
and the process is killed if anything goes wrong.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def guest_image(name, path):
    """Write the built-in guest ELF (from its committed generated header)."""
    text = open(os.path.join(SRC, 'tests', 'migration-guest', name + '.h')).read()
    body = text[text.index('{') + 1:text.index('};')]
    data = bytes(int(x, 16) for x in re.findall(r'0x([0-9a-fA-F]{2})', body))
    with open(path, 'wb') as f:
        f.write(data)


class QMP:
    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.f = self.sock.makefile('rwb')
        self.events = []
        self.greeting = self.recv()

    def recv(self):
        line = self.f.readline()
        if not line:
            raise RuntimeError('QMP connection closed')
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.f.write(json.dumps(msg).encode() + b'\n')
        self.f.flush()
        while True:
            r = self.recv()
            if 'event' in r:
                self.events.append(r)
                continue
            if 'error' in r:
                raise RuntimeError('%s: %s' % (name, r['error']['desc']))
            return r['return']

    def wait_event(self, name, timeout=30):
        deadline = time.time() + timeout
        self.sock.settimeout(timeout)
        while time.time() < deadline:
            for e in self.events:
                if e['event'] == name:
                    self.events.remove(e)
                    return e
            self.events.append(self.recv())
        raise RuntimeError('no %s event' % name)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
    binary = os.path.join(build, 'godwit-system-riscv64')
    tmp = tempfile.mkdtemp(prefix='godwit-demo-')
    proc = None
    try:
        elf = os.path.join(tmp, 'a-b.elf')
        guest_image('a-b', elf)
        serial = os.path.join(tmp, 'serial.log')
        qmp_path = os.path.join(tmp, 'qmp.sock')
        argv = [binary, '-M', 'virt', '-m', '256M', '-smp', '2', '-bios', 'none',
                '-kernel', elf, '-display', 'none', '-name', 'demo,debug-threads=on',
                '-serial', 'file:' + serial,
                '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        print('$ ' + ' '.join(argv))
        proc = subprocess.Popen(argv)
        qmp = QMP(qmp_path)
        v = qmp.greeting['QMP']['version']
        print('QMP greeting: %d.%d.%d (%s)' % (v['qemu']['major'], v['qemu']['minor'],
                                               v['qemu']['micro'], v['package']))
        qmp.cmd('qmp_capabilities')
        print('query-status:', qmp.cmd('query-status'))
        for i in range(3):
            time.sleep(1)
            out = open(serial).read()
            print('after %d s the guest printed %d bytes: %s' % (i + 1, len(out), out[:60]))
        print(qmp.cmd('human-monitor-command', **{'command-line': 'info ramblock'}), end='')
        for c in qmp.cmd('query-cpus-fast'):
            print('vCPU %d runs in host thread %d' % (c['cpu-index'], c['thread-id']))
        qmp.cmd('stop')
        e = qmp.wait_event('STOP')
        print('stop -> STOP event at %d.%06d' % (e['timestamp']['seconds'],
                                                 e['timestamp']['microseconds']))
        print(qmp.cmd('human-monitor-command', **{'command-line': 'info status'}), end='')
        qmp.cmd('cont')
        qmp.wait_event('RESUME')
        print('cont -> RESUME event')
        qmp.cmd('quit')
        proc.wait(timeout=10)
        print('quit -> exit status %d' % proc.returncode)
        if 'B' not in open(serial).read():
            print('demo: the guest did not make progress', file=sys.stderr)
            return 1
        return 0
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
