#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The main job of the README: migrate a running guest live between two
Godwit processes and print the figures.

    demo.py BUILDDIR

Starts a source with the 'a-b' test guest on two vCPUs and a destination
with -incoming tcp:127.0.0.1:0, drives both over QMP exactly as a
management layer would (capabilities, parameters, migrate, query-migrate,
events), prints QEMU's figures, checks that the guest goes on running on
the destination and that its memory is intact (QEMU's a-b invariant), then
quits both.  Everything runs in a private temp directory and every process
is killed if anything goes wrong.
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


AB_START = 0x80000000 + (1 << 20)
AB_END = 0x80000000 + (100 << 20)


def check_guests_ram(path):
    """QEMU's migration-test invariant for the a-b guest: the first byte of
    every page is equal to the previous page's, except at most one step
    down by one (where the incrementer was when the VM stopped)."""
    data = open(path, 'rb').read()
    bad = edges = 0
    last = data[0]
    for off in range(4096, len(data), 4096):
        b = data[off]
        if b != last:
            if b == (last - 1) & 0xff and edges == 0:
                edges += 1
            else:
                bad += 1
        last = b
    return bad


def start(binary, tmp, name, extra):
    serial = os.path.join(tmp, name + '-serial.log')
    qmp_path = os.path.join(tmp, name + '-qmp.sock')
    argv = [binary, '-M', 'virt', '-m', '256M', '-smp', '2', '-bios', 'none',
            '-display', 'none', '-name', name + ',debug-threads=on',
            '-serial', 'file:' + serial,
            '-qmp', 'unix:%s,server=on,wait=off' % qmp_path] + extra
    print('$ ' + ' '.join(os.path.basename(a) if a == binary else a for a in argv))
    proc = subprocess.Popen(argv)
    qmp = QMP(qmp_path)
    qmp.cmd('qmp_capabilities')
    return proc, qmp, serial


def wait_serial(serial, offset, char='B', timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = open(serial).read()
        if char in text[offset:]:
            return len(text)
        time.sleep(0.05)
    raise RuntimeError('no %r on %s' % (char, serial))


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'build')
    binary = os.path.join(build, 'godwit-system-riscv64')
    tmp = tempfile.mkdtemp(prefix='godwit-demo-')
    procs = []
    try:
        elf = os.path.join(tmp, 'a-b.elf')
        guest_image('a-b', elf)
        print('== source: the a-b guest on two vCPUs')
        src, sq, sserial = start(binary, tmp, 'source', ['-kernel', elf])
        procs.append(src)
        v = sq.greeting['QMP']['version']
        print('QMP greeting: %d.%d.%d (%s)' % (v['qemu']['major'], v['qemu']['minor'],
                                               v['qemu']['micro'], v['package']))
        wait_serial(sserial, 0)
        time.sleep(1)
        text = open(sserial).read()
        print('the guest runs: %d passes over 99 MiB in the first second' % text.count('B'))
        print(sq.cmd('human-monitor-command', **{'command-line': 'info ramblock'}), end='')

        print('== destination: waiting for the migration')
        dst, dq, dserial = start(binary, tmp, 'destination',
                                 ['-incoming', 'tcp:127.0.0.1:0'])
        procs.append(dst)
        addr = dq.cmd('query-migrate')['socket-address'][0]
        uri = 'tcp:%s:%s' % (addr['host'], addr['port'])
        print('destination listens on %s' % uri)

        for q in (sq, dq):
            q.cmd('migrate-set-capabilities',
                  capabilities=[{'capability': 'events', 'state': True}])
        sq.cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 30,
                                            'downtime-limit': 300})
        print('== migrate %s (live, max-bandwidth 1 GiB/s, downtime-limit 300 ms)' % uri)
        sq.cmd('migrate', uri=uri)
        deadline = time.time() + 120
        while True:
            info = sq.cmd('query-migrate')
            if info['status'] in ('completed', 'failed', 'cancelled'):
                break
            if time.time() > deadline:
                raise RuntimeError('migration did not complete in 120 s: %s' % info)
            time.sleep(0.1)
        if info['status'] != 'completed':
            print('migration %s: %s' % (info['status'], info.get('error-desc')))
            return 1
        stop = sq.wait_event('STOP')
        resume = dq.wait_event('RESUME')
        ts = lambda e: e['timestamp']['seconds'] + e['timestamp']['microseconds'] / 1e6
        ram = info['ram']
        print('status:            %s' % info['status'])
        print('total time:        %d ms' % info['total-time'])
        print('setup time:        %d ms' % info['setup-time'])
        print('downtime:          %d ms (source STOP to destination RESUME: %.1f ms)'
              % (info['downtime'], (ts(resume) - ts(stop)) * 1000))
        print('transferred:       %.1f MiB (%d normal pages, %d zero pages, %d dirty syncs)'
              % (ram['transferred'] / 2**20, ram['normal'], ram['duplicate'],
                 ram['dirty-sync-count']))
        print('throughput:        %.0f Mbit/s' % ram['mbps'])
        print('source:            %s' % sq.cmd('query-status')['status'])
        print('destination:       %s' % dq.cmd('query-status')['status'])
        wait_serial(dserial, 0)
        print("the guest goes on printing 'B' on the destination")
        dq.cmd('stop')
        dump = os.path.join(tmp, 'ram.bin')
        dq.cmd('pmemsave', val=AB_START, size=AB_END - AB_START, filename=dump)
        bad = check_guests_ram(dump)
        print('guest memory after migration: %s' %
              ('intact (a-b invariant holds over 99 MiB)' if bad == 0
               else '%d pages BAD' % bad))
        for q in (sq, dq):
            q.cmd('quit')
        for p in procs:
            p.wait(timeout=10)
        return 0 if bad == 0 else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
