#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Migration benchmark: Godwit against stock QEMU, same scenarios, same run.

    migration-bench.py [--binary PATH] [--qemu PATH] [--scenario NAME]...
                       [--repeat N] [--quick] [--json FILE]

Each scenario migrates a guest from a source process to a destination process
on this host over a unix socket (unix:PATH, not TCP loopback, so that the
figures measure the migration code and not the TCP stack), drives both sides
over QMP exactly as a management layer would, and reads the figures from the
source's query-migrate and from the STOP/RESUME event timestamps of the two
processes (both on this host: the same wall clock).

Scenarios (each runs with cold memory and with -mem-prealloc on both sides):

  paused-random  -m 2G -S; 1 GiB of deterministic pseudo-random bytes placed at
                 0x80000000 on the source with -device loader, 1 GiB zero
  paused-zero    -m 4G -S; nothing written: 4 GiB of zero pages
  live-a-b       -m 512M; the a-b guest dirties 1..100 MiB as fast as it can
  live-rate      -m 1G; the rate guest dirties 100 MiB/s; max-bandwidth 1 GiB/s
  live-a-b-xbzrle  live-a-b with the xbzrle capability, xbzrle-cache-size 64 MiB
  paused-random-tcp  paused-random over TCP loopback (-incoming defer)
  paused-random-tls  the same inside TLS, x509 (one channel; certtool-made
                 certificates, the same for stock QEMU)
  rate-autoconverge  live-rate at max-bandwidth 48 MB/s, which the rate guest
                 outruns (precopy alone never converges), with auto-converge
                 at QEMU's default throttle settings: total time, downtime and
                 the last cpu-throttle-percentage seen before completion
  paused-random-tcp-multifd2, paused-random-tls-multifd2  paused-random over
                 TCP with multifd, 2 channels, plain and inside TLS (each
                 channel its own session)
  paused-random-multifd1, paused-random-multifd2  paused-random over unix with
                 the multifd capability, multifd-channels 1 and 2 (2 is meant
                 to reach >= 1.6x the throughput of 1 with -mem-prealloc)
  compress       -m 1G -S; 512 MiB of compressible pages (a few random bytes
                 and a text pattern each) with the compress capability on both
                 sides (compress-threads 2, decompress-threads 2, level 1);
                 compress-off is the same memory without it
  multifd-zlib, multifd-zstd  -m 1G -S, 256 MiB of compressible pages (the
                 "mixed" pages of bench-compress: a-b-like, random and
                 text-like in turn) over one multifd channel with that
                 multifd-compression; the page throughput (pages-MiB/s) is
                 printed beside the library's own single-thread speed on
                 the same pages (bench-compress --speed; target: within 10%)

A scenario name may carry a suffix, e.g. paused-zero:cold or live-a-b:prealloc.

The benchmark prints figures and never fails on time: its exit status is 1
only when a migration fails (or a process misbehaves), 0 otherwise.
Only the Python 3 standard library is used.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MiB = 1 << 20
GiB = 1 << 30
DRAM_BASE = 0x80000000
HUGE_BANDWIDTH = 100 * GiB          # bytes/s: "unlimited" for the paused cases
LIVE_BANDWIDTH = 1 * GiB            # bytes/s
DEFAULT_DOWNTIME_LIMIT = 300        # ms, QEMU's default
LIVE_CONVERGE_TIMEOUT = 60.0        # s, before raising downtime-limit
RAISED_DOWNTIME_LIMITS = (1000, 5000, 20000)
SEED = b'godwit-migration-bench-v1'

# name: (kind, RAM, pseudo-random bytes, guest, quick RAM, quick random bytes)
def xbzrle_scenarios():
    """live-a-b with XBZRLE: the a-b guest changes one byte per page, the
    case XBZRLE is made for (QEMU 7.2 gives ~43 ms downtime here)."""
    return {
        'live-a-b-xbzrle': dict(kind='live', ram=512 * MiB, guest='a-b',
                                quick_ram=256 * MiB, bandwidth=LIVE_BANDWIDTH,
                                caps=['xbzrle'],
                                params={'xbzrle-cache-size': 64 * MiB}),
    }


def xbzrle_targets():
    return {
        ('live-a-b-xbzrle', 'cold'): {'downtime': 30},
        ('live-a-b-xbzrle', 'prealloc'): {'downtime': 30},
    }


def apply_source_features(src, cfg):
    """The scenario's extra source capabilities and parameters, if any."""
    if cfg.get('caps'):
        src.cmd('migrate-set-capabilities',
                capabilities=[{'capability': c, 'state': True} for c in cfg['caps']])
    if cfg.get('params'):
        src.cmd('migrate-set-parameters', **cfg['params'])


SCENARIOS = {
    'paused-random': dict(kind='paused', ram=2 * GiB, random=1 * GiB,
                          quick_ram=512 * MiB, quick_random=256 * MiB),
    'paused-zero': dict(kind='paused', ram=4 * GiB, random=0,
                        quick_ram=1 * GiB, quick_random=0),
    'live-a-b': dict(kind='live', ram=512 * MiB, guest='a-b',
                     quick_ram=256 * MiB, bandwidth=LIVE_BANDWIDTH),
    'live-rate': dict(kind='live', ram=1 * GiB, guest='rate',
                      quick_ram=256 * MiB, bandwidth=LIVE_BANDWIDTH),
}
SCENARIOS.update(xbzrle_scenarios())
# below the rate guest's 100 MiB/s: only throttling makes it converge
AUTOCONVERGE_BANDWIDTH = 48 * 1000 * 1000
SCENARIOS['rate-autoconverge'] = dict(
    kind='live', ram=1 * GiB, guest='rate', quick_ram=256 * MiB,
    bandwidth=AUTOCONVERGE_BANDWIDTH, caps=['auto-converge'], params={})
MEMORY_MODES = ('cold', 'prealloc')

# Targets for Godwit on the reference machine (2 cores, loopback), in ms:
# (scenario, memory mode) -> {figure: limit}.  Informational only.
TARGETS = {
    ('paused-random', 'prealloc'): {'total-time': 330},
    ('paused-random', 'cold'): {'total-time': 2000},
    ('paused-zero', 'prealloc'): {'total-time': 200},
    ('paused-zero', 'cold'): {'total-time': 60},
    ('live-a-b', 'cold'): {'downtime': 35},
    ('live-a-b', 'prealloc'): {'downtime': 35},
    ('live-rate', 'cold'): {'total-time': 1200, 'downtime': 5},
    ('live-rate', 'prealloc'): {'total-time': 1200, 'downtime': 5},
}
TARGETS.update(xbzrle_targets())

# Figures in the tables: (key, heading, format, "lower is better")
TIME_FIGURES = ('total-time', 'downtime', 'wall-downtime', 'setup-time', 'wall-total')
COLUMNS = [
    ('total-time', 'total ms', '%.0f'),
    ('downtime', 'downtime ms', '%.0f'),
    ('wall-downtime', 'wall-dt ms', '%.1f'),
    ('setup-time', 'setup ms', '%.0f'),
    ('wall-total', 'wall-tot ms', '%.0f'),
    ('transferred-mib', 'xfer MiB', '%.1f'),
    ('throughput-mibs', 'MiB/s', '%.0f'),
    ('pages-mibs', 'pages MiB/s', '%.0f'),
    ('mbps', 'mbps', '%.0f'),
    ('src-cpu-s', 'src CPU s', '%.2f'),
    ('dst-cpu-s', 'dst CPU s', '%.2f'),
    ('dirty-sync-count', 'syncs', '%.0f'),
    ('final-throttle', 'throttle %', '%.0f'),
    ('loadavg', 'load', '%.1f'),
]


def proc_cpu_seconds(pid):
    """utime + stime of process @pid in seconds (None if unreadable)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    # fields[0] is the state (field 3): utime and stime are fields 14, 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class BenchError(Exception):
    pass


class Terminated(BaseException):
    pass


def _on_signal(signum, frame):
    raise Terminated('signal %d' % signum)


# ---------------------------------------------------------------- helpers

def guest_image(name, path):
    """Write a built-in guest ELF from its committed generated header."""
    text = open(os.path.join(SRC, 'tests', 'migration-guest', name + '.h')).read()
    body = text[text.index('{') + 1:text.index('};')]
    data = bytes(int(x, 16) for x in re.findall(r'0x([0-9a-fA-F]{2})', body))
    with open(path, 'wb') as f:
        f.write(data)


def random_file(path, size):
    """Deterministic pseudo-random bytes: SHAKE-128 of (seed, chunk index)."""
    chunk = 64 * MiB
    with open(path, 'wb') as f:
        for i in range(0, size, chunk):
            n = min(chunk, size - i)
            f.write(hashlib.shake_128(SEED + i.to_bytes(8, 'little')).digest(n))


def _die_with_parent():
    """In the child: get SIGKILL when the benchmark dies, even by SIGKILL."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def mem_available():
    try:
        for line in open('/proc/meminfo'):
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def event_time(ev):
    ts = ev['timestamp']
    return ts['seconds'] + ts['microseconds'] / 1e6


def human_size(n):
    if n >= GiB and n % GiB == 0:
        return '%dG' % (n // GiB)
    return '%dM' % (n // MiB)


class QMP:
    """A minimal QMP client that keeps every event it sees."""

    def __init__(self, path, proc, timeout=30):
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise BenchError('process exited with status %d before its QMP '
                                 'socket came up' % proc.returncode)
            self.sock = socket.socket(socket.AF_UNIX)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise BenchError('QMP socket %s did not come up' % path)
                time.sleep(0.02)
        self.sock.settimeout(timeout)
        self.f = self.sock.makefile('rwb')
        self.events = []
        self.greeting = self._recv()
        self.cmd('qmp_capabilities')

    def _recv(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(max(timeout, 0.001))
        try:
            line = self.f.readline()
        except socket.timeout:
            return None
        finally:
            if timeout is not None:
                self.sock.settimeout(60)
        if not line:
            raise BenchError('QMP connection closed')
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.f.write(json.dumps(msg).encode() + b'\n')
        self.f.flush()
        while True:
            r = self._recv()
            if r is None:
                raise BenchError('%s: no reply' % name)
            if 'event' in r:
                self.events.append(r)
                continue
            if 'error' in r:
                raise BenchError('%s: %s' % (name, r['error'].get('desc')))
            return r.get('return')

    def find(self, pred):
        for e in self.events:
            if pred(e):
                return e
        return None

    def wait(self, pred, timeout):
        """Wait for an event matching pred; None on timeout."""
        deadline = time.time() + timeout
        while True:
            e = self.find(pred)
            if e is not None:
                return e
            left = deadline - time.time()
            if left <= 0:
                return None
            r = self._recv(timeout=left)
            if r is not None and 'event' in r:
                self.events.append(r)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def is_migration(*states):
    return lambda e: e['event'] == 'MIGRATION' and e['data'].get('status') in states


# ---------------------------------------------------------------- one run

class Run:
    """One migration: source and destination processes, always cleaned up."""

    def __init__(self, binary, scenario, mode, cfg, tmp, quick, rndfile, elves):
        self.binary = binary
        self.scenario = scenario
        self.mode = mode
        self.cfg = cfg
        self.tmp = tempfile.mkdtemp(prefix='%s-%s-' % (scenario, mode), dir=tmp)
        self.ram = cfg['quick_ram'] if quick else cfg['ram']
        self.rndfile = rndfile
        self.elves = elves
        self.procs = {}
        self.qmps = {}
        self.notes = []
        self.last_info = None

    def argv(self, side):
        d = self.tmp
        a = [self.binary, '-M', 'virt', '-m', human_size(self.ram), '-bios', 'none',
             '-display', 'none', '-nodefaults',
             '-qmp', 'unix:%s,server=on,wait=off' % os.path.join(d, side + '.qmp')]
        if self.mode == 'prealloc':
            a.append('-mem-prealloc')
        if self.cfg['kind'] == 'paused':
            a += ['-S', '-serial', 'none']
            if side == 'src' and self.rndfile:
                a += ['-device', 'loader,file=%s,addr=0x%x' % (self.rndfile, DRAM_BASE)]
        else:
            a += ['-kernel', self.elves[self.cfg['guest']],
                  '-serial', 'file:' + os.path.join(d, side + '.serial')]
        if side == 'dst':
            a += ['-incoming', 'unix:' + os.path.join(d, 'mig.sock')]
        return a

    def start(self, side):
        log = open(os.path.join(self.tmp, side + '.log'), 'wb')
        argv = self.argv(side)
        with open(os.path.join(self.tmp, side + '.cmdline'), 'w') as f:
            f.write(' '.join(argv) + '\n')
        self.procs[side] = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            preexec_fn=_die_with_parent)
        log.close()
        # -mem-prealloc of 4 GiB can take seconds before QMP answers
        self.qmps[side] = QMP(os.path.join(self.tmp, side + '.qmp'),
                              self.procs[side], timeout=120)

    def log_tail(self, side, n=600):
        try:
            data = open(os.path.join(self.tmp, side + '.log'), 'rb').read()
        except OSError:
            return ''
        return data[-n:].decode(errors='replace').strip()

    def serial(self, side):
        try:
            return open(os.path.join(self.tmp, side + '.serial'), 'rb').read()
        except OSError:
            return b''

    def wait_serial(self, side, pred, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred(self.serial(side)):
                return
            p = self.procs[side]
            if p.poll() is not None:
                raise BenchError('%s exited with status %d while waiting for %s'
                                 % (side, p.returncode, what))
            time.sleep(0.02)
        raise BenchError('%s: %s did not happen within %.0f s' % (side, what, timeout))

    def cleanup(self):
        for q in self.qmps.values():
            q.close()
        for side, p in self.procs.items():
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print('warning: %s (pid %d) did not die' % (side, p.pid), file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def quit(self):
        for side, q in self.qmps.items():
            try:
                q.cmd('quit')
            except (BenchError, OSError):
                pass
        for side, p in self.procs.items():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def prepare(self, src, dst):
        """Both sides up, parameters set, before migrate (transports hook here)."""

    def migrate_uri(self):
        return 'unix:' + os.path.join(self.tmp, 'mig.sock')

    def wait_done(self, src, done, timeout):
        """Wait for the end of the migration (an event matching done)."""
        return src.wait(done, timeout)

    def extra_figures(self):
        return {}

    def execute(self):
        cfg = self.cfg
        live = cfg['kind'] == 'live'
        self.start('dst')
        self.start('src')
        src, dst = self.qmps['src'], self.qmps['dst']
        caps = [{'capability': 'events', 'state': True}]
        src.cmd('migrate-set-capabilities', capabilities=caps)
        dst.cmd('migrate-set-capabilities', capabilities=caps)
        bandwidth = cfg.get('bandwidth', HUGE_BANDWIDTH)
        downtime_limit = DEFAULT_DOWNTIME_LIMIT
        src.cmd('migrate-set-parameters', **{'max-bandwidth': bandwidth,
                                             'downtime-limit': downtime_limit})
        apply_source_features(src, cfg)
        self.prepare(src, dst)
        st = dst.cmd('query-status')
        if st.get('status') != 'inmigrate':
            raise BenchError('destination is %r, not inmigrate' % st.get('status'))
        if live:
            # steady state: the guest has zeroed its range and is dirtying
            self.wait_serial('src', lambda s: b'B' in s, 60, "the guest's first 'B'")
            if b'X' in self.serial('src'):
                raise BenchError('guest trapped on the source: %r' % self.serial('src')[-80:])
        else:
            st = src.cmd('query-status')
            if st.get('running'):
                raise BenchError('source is running in a paused scenario')
        loadavg = os.getloadavg()[0]

        cpu0 = {side: proc_cpu_seconds(self.procs[side].pid) for side in ('src', 'dst')}
        t0 = time.time()
        src.cmd('migrate', uri=self.migrate_uri())
        done = is_migration('completed', 'failed', 'cancelled')
        ev = self.wait_done(src, done, LIVE_CONVERGE_TIMEOUT if live else 600)
        raised = list(RAISED_DOWNTIME_LIMITS) if live else []
        while ev is None and raised:
            prev, downtime_limit = downtime_limit, raised.pop(0)
            self.notes.append('did not converge in %.0f s with downtime-limit %d ms; '
                              'raised to %d ms' % (LIVE_CONVERGE_TIMEOUT, prev,
                                                   downtime_limit))
            src.cmd('migrate-set-parameters', **{'downtime-limit': downtime_limit})
            ev = self.wait_done(src, done, LIVE_CONVERGE_TIMEOUT)
        if ev is None:
            info = src.cmd('query-migrate')
            src.cmd('migrate_cancel')
            raise BenchError('source migration did not finish (status %s)'
                             % info.get('status'))
        if ev['data']['status'] != 'completed':
            info = src.cmd('query-migrate')
            raise BenchError('source migration %s: %s' % (
                ev['data']['status'], info.get('error-desc', 'no error-desc')))

        # destination: loaded everything, and in the expected run state
        dev = dst.wait(is_migration('completed', 'failed'), 120)
        if dev is None:
            raise BenchError('destination sent no MIGRATION completed event')
        if dev['data']['status'] != 'completed':
            raise BenchError('destination migration %s: %s'
                             % (dev['data']['status'], self.log_tail('dst')))
        stop = resume = None
        if live:
            resume = dst.wait(lambda e: e['event'] == 'RESUME', 30)
            if resume is None:
                raise BenchError('destination sent no RESUME event')
            stop = src.find(lambda e: e['event'] == 'STOP')
            if stop is None:
                raise BenchError('source sent no STOP event')
        cpu1 = {side: proc_cpu_seconds(self.procs[side].pid) for side in ('src', 'dst')}
        # the MIGRATION completed event can precede the switch to postmigrate
        deadline = time.time() + 10
        while True:
            sst = src.cmd('query-status')
            if sst.get('status') != 'finish-migrate' or time.time() > deadline:
                break
            time.sleep(0.01)
        # QEMU fills in total-time/downtime after the completed event: read
        # the figures once the source has moved on to postmigrate
        info = src.cmd('query-migrate')
        self.last_info = info
        if info.get('status') != 'completed':
            raise BenchError('source query-migrate status %s' % info.get('status'))
        dst_st = dst.cmd('query-status')
        if sst.get('running') or sst.get('status') != 'postmigrate':
            raise BenchError('source is %r after migration, expected postmigrate'
                             % sst.get('status'))
        if live:
            if not dst_st.get('running'):
                raise BenchError('destination is %r, expected running' % dst_st.get('status'))
            # the guest goes on on the destination: a new 'B' arrives.  A
            # stalled guest is recorded (and fails the run of --binary), not
            # raised: stock QEMU 7.2 does not re-arm the ACLINT timer on the
            # destination, so the rate guest sleeps forever in wfi there.
            n = self.serial('dst').count(b'B')
            try:
                self.wait_serial('dst', lambda s: s.count(b'B') > n, 10,
                                 "guest progress on the destination (a new 'B')")
                guest_progress = True
            except BenchError as e:
                if self.procs['dst'].poll() is not None:
                    raise
                guest_progress = False
                self.notes.append('GUEST STALLED: %s' % e)
            if b'X' in self.serial('dst'):
                raise BenchError('guest trapped on the destination: %r'
                                 % self.serial('dst')[-80:])
        else:
            if dst_st.get('running') or dst_st.get('status') not in ('paused', 'prelaunch'):
                raise BenchError('destination is %r, expected paused or prelaunch'
                                 % dst_st.get('status'))
            guest_progress = None
        self.quit()

        ram = info.get('ram', {})
        r = {
            'total-time': info.get('total-time'),
            'downtime': info.get('downtime'),
            'setup-time': info.get('setup-time'),
            'wall-downtime': (event_time(resume) - event_time(stop)) * 1000 if live else None,
            'wall-total': (event_time(dev) - t0) * 1000,
            'transferred-mib': ram.get('transferred', 0) / MiB,
            'mbps': ram.get('mbps'),
            'dirty-sync-count': ram.get('dirty-sync-count'),
            'ram-total-mib': ram.get('total', 0) / MiB,
            'duplicate-pages': ram.get('duplicate'),
            'normal-pages': ram.get('normal'),
            'pages-mib': ram.get('normal', 0) * 4096 / MiB,
            'downtime-limit': downtime_limit,
            'loadavg': loadavg,
            'guest-progress': guest_progress,
            # CPU time (user+system, all threads) from migrate to completed:
            # unlike MiB/s it does not depend on the other load of the host
            'src-cpu-s': cpu1['src'] - cpu0['src'] if None not in (cpu0['src'], cpu1['src']) else None,
            'dst-cpu-s': cpu1['dst'] - cpu0['dst'] if None not in (cpu0['dst'], cpu1['dst']) else None,
        }
        r.update(self.extra_figures())
        if r['total-time']:
            r['throughput-mibs'] = r['transferred-mib'] / (r['total-time'] / 1000)
            r['pages-mibs'] = r['pages-mib'] / (r['total-time'] / 1000)
        else:
            r['throughput-mibs'] = None
            r['pages-mibs'] = None
        return r


class ThrottleRun(Run):
    """A live run with auto-converge: polls query-migrate every 100 ms while
    it waits, for the last cpu-throttle-percentage before completion (it is
    absent once completed, as in QEMU)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.last_throttle = 0

    def wait_done(self, src, done, timeout):
        # no short read timeouts: a timed-out socket file cannot be read again
        deadline = time.time() + timeout
        while True:
            info = src.cmd('query-migrate')
            ev = src.find(done)
            if ev is not None:
                return ev
            if 'cpu-throttle-percentage' in info:
                self.last_throttle = info['cpu-throttle-percentage']
            if time.time() > deadline:
                return None
            time.sleep(0.1)

    def extra_figures(self):
        return {'final-throttle': self.last_throttle}


def run_one(binary, scenario, mode, cfg, tmp, quick, rndfile, elves):
    cls = (CompressRun if cfg.get('compressible') else
           ThrottleRun if 'auto-converge' in cfg.get('caps', []) else
           NetRun if cfg.get('transport') else
           MultifdRun if cfg.get('multifd_channels') else Run)
    run = cls(binary, scenario, mode, cfg, tmp, quick, rndfile, elves)
    try:
        r = run.execute()
        r['notes'] = run.notes
        return r
    except (BenchError, OSError, ValueError) as e:
        tails = []
        for side in ('src', 'dst'):
            t = run.log_tail(side)
            if t:
                tails.append('%s log: %s' % (side, t.replace('\n', ' | ')))
        raise BenchError('; '.join([str(e)] + run.notes + tails))
    finally:
        run.cleanup()


# ---------------------------------------------------------------- TCP and TLS
#
# paused-random over TCP loopback, plain and inside TLS (x509, one
# channel), so the cost of TLS shows beside plain TCP in the same run and
# against stock QEMU with the very same credentials.  The destination
# starts with -incoming defer; both sides get their credentials with
# -object and tls-creds with migrate-set-parameters, as a management layer
# does.  Certificates are made once per run with certtool (gnutls-bin).

TLS_SCENARIOS = {
    'paused-random-tcp': dict(kind='paused', ram=2 * GiB, random=1 * GiB,
                              quick_ram=512 * MiB, quick_random=256 * MiB,
                              transport='tcp'),
    'paused-random-tcp-multifd2': dict(kind='paused', ram=2 * GiB,
                                       random=1 * GiB, quick_ram=512 * MiB,
                                       quick_random=256 * MiB,
                                       transport='tcp', multifd_channels=2),
    'paused-random-tls-multifd2': dict(kind='paused', ram=2 * GiB,
                                       random=1 * GiB, quick_ram=512 * MiB,
                                       quick_random=256 * MiB,
                                       transport='tls-x509',
                                       multifd_channels=2),
    'paused-random-tls': dict(kind='paused', ram=2 * GiB, random=1 * GiB,
                              quick_ram=512 * MiB, quick_random=256 * MiB,
                              transport='tls-x509'),
}
SCENARIOS.update(TLS_SCENARIOS)
_tls_dirs = {}


def tls_make_certs(tmp):
    """dirs {server, client} with QEMU's file names; made once per run."""
    if _tls_dirs:
        return _tls_dirs
    if not shutil.which('certtool'):
        raise BenchError('certtool not found (Debian: apt-get install gnutls-bin)')
    base = os.path.join(tmp, 'tls')
    os.makedirs(base, exist_ok=True)
    key = os.path.join(base, 'key.pem')
    ca = os.path.join(base, 'ca-cert.pem')

    def certtool(*a):
        subprocess.run(['certtool'] + list(a), check=True, capture_output=True)

    def template(name, text):
        path = os.path.join(base, name + '.info')
        with open(path, 'w') as f:
            f.write(text)
        return path

    certtool('--generate-privkey', '--key-type=rsa', '--bits=2048', '--outfile', key)
    certtool('--generate-self-signed', '--load-privkey', key, '--outfile', ca, '--no-text',
             '--template', template('ca', 'cn = "bench-CA"\nca\ncert_signing_key\n'
                                    'expiration_days = 1\n'))
    leaf = {'server': 'cn = "127.0.0.1"\nip_address = "127.0.0.1"\ntls_www_server\n',
            'client': 'cn = "bench client"\ntls_www_client\n'}
    for who, text in leaf.items():
        d = os.path.join(base, who)
        os.makedirs(d)
        certtool('--generate-certificate', '--load-privkey', key,
                 '--load-ca-certificate', ca, '--load-ca-privkey', key, '--no-text',
                 '--template', template(who, text + 'encryption_key\nsigning_key\n'
                                        'expiration_days = 1\n'),
                 '--outfile', os.path.join(d, who + '-cert.pem'))
        shutil.copy(key, os.path.join(d, who + '-key.pem'))
        shutil.copy(ca, os.path.join(d, 'ca-cert.pem'))
        _tls_dirs[who] = d
    return _tls_dirs


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class NetRun(Run):
    """A Run over TCP loopback, optionally inside TLS (x509)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.tls = self.cfg['transport'] == 'tls-x509'
        self.port = None

    def argv(self, side):
        a = super().argv(side)
        if side == 'dst':
            a[a.index('-incoming') + 1] = 'defer'
        if self.tls:
            dirs = tls_make_certs(os.path.dirname(self.tmp))
            who = 'server' if side == 'dst' else 'client'
            a += ['-object', 'tls-creds-x509,id=tls0,endpoint=%s,dir=%s' % (who, dirs[who])]
        return a

    def prepare(self, src, dst):
        if self.tls:
            src.cmd('migrate-set-parameters', **{'tls-creds': 'tls0'})
            dst.cmd('migrate-set-parameters', **{'tls-creds': 'tls0'})
        if self.cfg.get('multifd_channels'):
            # every multifd channel makes its own TLS session
            for q in (src, dst):
                q.cmd('migrate-set-capabilities',
                      capabilities=[{'capability': 'multifd', 'state': True}])
                q.cmd('migrate-set-parameters',
                      **{'multifd-channels': self.cfg['multifd_channels']})
        self.port = free_tcp_port()
        dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:%d' % self.port)

    def migrate_uri(self):
        return 'tcp:127.0.0.1:%d' % self.port


# ---------------------------------------------------------------- multifd
#
# paused-random with the multifd capability on both sides, 1 and 2
# channels, over a unix socket: the destination starts with -incoming
# defer so that multifd is on before it listens (as QEMU requires).  The
# ratio of the two throughputs is printed after the tables.

def multifd_scenarios():
    out = {}
    for n in (1, 2):
        out['paused-random-multifd%d' % n] = dict(
            kind='paused', ram=2 * GiB, random=1 * GiB, quick_ram=512 * MiB,
            quick_random=256 * MiB, multifd_channels=n)
    for c in ('zlib', 'zstd'):
        out['multifd-' + c] = dict(
            kind='paused', ram=1 * GiB, random=256 * MiB, quick_ram=256 * MiB,
            quick_random=64 * MiB, multifd_channels=1, compression=c,
            data='mix')
    return out


def bench_compress_path(binary):
    """bench-compress of the same build as @binary (build/tests/bench)."""
    return os.path.join(os.path.dirname(binary), 'tests', 'bench', 'bench-compress')


def mix_file(binary, path, size):
    """The mixed compressible pages of bench-compress, @size bytes."""
    subprocess.run([bench_compress_path(binary), '--write-mix', path,
                    str(size // MiB)], check=True, timeout=600)


SCENARIOS.update(multifd_scenarios())


# ---------------------------------------------------------------- compress
#
# QEMU 7.2's compression threads on a compressible paused workload: the
# source's RAM holds 512 MiB of pages that deflate to ~1/26 (a page number,
# 24 pseudo-random bytes, then text), the rest zero.  Paused so the figures
# do not depend on a guest's dirty rate (with compression the measured
# bandwidth counts compressed bytes, which makes live convergence depend on
# downtime-limit more than on the code).  compress-off migrates the same
# memory without the capability, for the ratio printed after the tables.

COMPRESSIBLE_BYTES = 512 * MiB


def compress_scenarios():
    base = dict(kind='paused', ram=1 * GiB, random=0, quick_ram=512 * MiB,
                quick_random=0, compressible=True)
    return {
        'compress': dict(base, compress={'compress-threads': 2,
                                         'decompress-threads': 2,
                                         'compress-level': 1}),
        'compress-off': dict(base),
    }


SCENARIOS.update(compress_scenarios())


def compressible_file(path, size):
    """@size bytes of pages that deflate well but not to nothing."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return path
    text = (b'The bar-tailed godwit flies 13,000 km without stopping. ' * 80)
    with open(path + '.tmp', 'wb') as f:
        for i in range(size // 4096):
            head = i.to_bytes(8, 'little') + hashlib.sha256(
                SEED + i.to_bytes(8, 'little')).digest()[:24]
            f.write((head + text)[:4096])
    os.rename(path + '.tmp', path)
    return path


class CompressRun(Run):
    """A paused Run from compressible memory, compress on both sides when
    cfg['compress'] holds its parameters."""

    def argv(self, side):
        a = super().argv(side)
        if side == 'src':
            size = min(COMPRESSIBLE_BYTES, self.ram // 2)
            f = compressible_file(os.path.join(os.path.dirname(self.tmp),
                                               'compressible-%d' % size), size)
            a += ['-device', 'loader,file=%s,addr=0x%x' % (f, DRAM_BASE)]
        else:
            a[a.index('-incoming') + 1] = 'defer'
        return a

    def prepare(self, src, dst):
        if self.cfg.get('compress'):
            caps = [{'capability': 'compress', 'state': True}]
            for q in (src, dst):
                q.cmd('migrate-set-capabilities', capabilities=caps)
                q.cmd('migrate-set-parameters', **self.cfg['compress'])
        dst.cmd('migrate-incoming', uri=self.migrate_uri())

    def execute(self):
        r = super().execute()
        info = self.last_info or {}
        c = info.get('compression') or {}
        r['compressed-pages'] = c.get('pages')
        r['compression-rate'] = c.get('compression-rate')
        return r


def print_compress_ratio(label, results, rows):
    """compress against compress-off: bytes, time and CPU."""
    for mode in MEMORY_MODES:
        on = results.get(('compress', mode))
        off = results.get(('compress-off', mode))
        if (('compress', mode) not in rows or ('compress-off', mode) not in rows
                or not on or not off or not on.get('total-time')
                or not off.get('total-time')):
            continue
        print('%s: compress %s: %.1f MiB in %.0f ms (src CPU %.2f s, dst CPU '
              '%.2f s) vs %.1f MiB in %.0f ms without: %.1fx fewer bytes, '
              '%.2fx the time; %s pages compressed'
              % (label, mode, on['transferred-mib'], on['total-time'],
                 on.get('src-cpu-s') or 0, on.get('dst-cpu-s') or 0,
                 off['transferred-mib'], off['total-time'],
                 off['transferred-mib'] / max(on['transferred-mib'], 1e-9),
                 on['total-time'] / off['total-time'],
                 on.get('compressed-pages')))


class MultifdRun(Run):
    """A Run with multifd on both sides (cfg['multifd_channels'])."""

    def argv(self, side):
        a = super().argv(side)
        if side == 'dst':
            a[a.index('-incoming') + 1] = 'defer'
        return a

    def prepare(self, src, dst):
        caps = [{'capability': 'multifd', 'state': True}]
        params = {'multifd-channels': self.cfg['multifd_channels']}
        if self.cfg.get('compression'):
            params['multifd-compression'] = self.cfg['compression']
        for q in (src, dst):
            q.cmd('migrate-set-capabilities', capabilities=caps)
            q.cmd('migrate-set-parameters', **params)
        dst.cmd('migrate-incoming', uri=self.migrate_uri())


def print_multifd_compression(label, results, rows, binary, quick):
    """Pages MiB/s of one compressing channel beside the library alone."""
    for c in ('zlib', 'zstd'):
        for mode in MEMORY_MODES:
            r = results.get(('multifd-' + c, mode))
            if ('multifd-' + c, mode) not in rows or not r or not r.get('pages-mibs'):
                continue
            try:
                lib = float(subprocess.run(
                    [bench_compress_path(binary), '--speed', c, '64'],
                    capture_output=True, text=True, check=True,
                    timeout=600).stdout.strip())
            except (OSError, ValueError, subprocess.SubprocessError) as e:
                print('%s: multifd-%s %s: %.0f MiB/s of pages (library figure '
                      'unavailable: %s)' % (label, c, mode, r['pages-mibs'], e))
                continue
            # on a loaded host the wall figure is the CPU share's; the
            # pages per CPU-second of the whole source (every thread, so a
            # lower bound for the channel's) compare with the library's
            cpu = r.get('src-cpu-s')
            per_cpu = r['pages-mib'] / cpu if cpu else None
            print('%s: multifd-%s %s, 1 channel: %.0f MiB/s of pages (wall), '
                  '%s MiB of pages per source CPU-second; %s level 1 alone on '
                  'the same pages: %.0f MiB/s (one thread, CPU time) -> wall '
                  '%.0f%%, per CPU-second %s'
                  % (label, c, mode, r['pages-mibs'], fmt(per_cpu, '%.0f'), c,
                     lib, 100.0 * r['pages-mibs'] / lib,
                     fmt(per_cpu and 100.0 * per_cpu / lib, '%.0f%%')))


def print_multifd_ratio(label, results, rows):
    """Throughput of 2 multifd channels over 1, per memory mode."""
    for mode in MEMORY_MODES:
        one = results.get(('paused-random-multifd1', mode))
        two = results.get(('paused-random-multifd2', mode))
        if (('paused-random-multifd1', mode) not in rows or
                ('paused-random-multifd2', mode) not in rows or
                not one or not two or not one.get('throughput-mibs') or
                not two.get('throughput-mibs')):
            continue
        print('%s: multifd 2 channels / 1 channel, paused-random %s: %.2fx '
              '(%.0f / %.0f MiB/s; target >= 1.6x with prealloc)'
              % (label, mode, two['throughput-mibs'] / one['throughput-mibs'],
                 two['throughput-mibs'], one['throughput-mibs']))


# ---------------------------------------------------------------- postcopy

# The postcopy scenario (its own functions and table; README "Postcopy"):
# the a-b guest in 512 MiB, migrate-start-postcopy after the second dirty
# sync, downtime-limit 1 ms so that precopy cannot finish first, the
# background stream unlimited (it saturates the socket).
POSTCOPY_SCENARIOS = {
    'postcopy-a-b': dict(preempt=False),
    'postcopy-a-b-preempt': dict(preempt=True),
    # the same with the background stream held to 50 MB/s
    # (max-postcopy-bandwidth): the cores are mostly idle, so the figures
    # show what a request costs when nothing competes with the threads
    # that serve it (the wake-up floor of the host), not the scheduling
    # delay of a saturated 2-core machine
    'postcopy-a-b-preempt-bg50': dict(preempt=True,
                                      postcopy_bandwidth=50 * 1000 * 1000),
}
POSTCOPY_RAM = 512 * MiB
POSTCOPY_QUICK_RAM = 256 * MiB
POSTCOPY_DOWNTIME_LIMIT = 1         # ms
# Godwit's fault-to-placement latency targets, microseconds (informational)
POSTCOPY_TARGETS = {
    'postcopy-a-b': {'p99-us': 2000},           # background stream saturating
    'postcopy-a-b-preempt': {'p50-us': 40, 'p99-us': 300},
    'postcopy-a-b-preempt-bg50': {'p50-us': 40, 'p99-us': 300},
}
POSTCOPY_COLUMNS = [
    ('total-time', 'total ms', '%.0f'),
    ('downtime', 'downtime ms', '%.0f'),
    ('wall-downtime', 'wall-dt ms', '%.1f'),
    ('requests', 'requests', '%.0f'),
    ('faults', 'faults', '%.0f'),
    ('p50-us', 'p50 us', '%.1f'),
    ('p99-us', 'p99 us', '%.1f'),
    ('max-us', 'max us', '%.0f'),
    ('avg-us', 'avg us', '%.1f'),
    ('bt-per-req-us', 'bt/req us', '%.1f'),
    ('loadavg', 'load', '%.1f'),
]


class PostcopyRun(Run):
    """One postcopy migration of the a-b guest (see POSTCOPY_SCENARIOS)."""

    def __init__(self, binary, scenario, tmp, quick, elves):
        cfg = dict(kind='live', ram=POSTCOPY_RAM, quick_ram=POSTCOPY_QUICK_RAM,
                   guest='a-b')
        Run.__init__(self, binary, scenario, 'cold', cfg, tmp, quick, None, elves)
        self.preempt = POSTCOPY_SCENARIOS[scenario]['preempt']

    def argv(self, side):
        a = Run.argv(self, side)
        if side == 'dst':
            # capabilities first (preempt counts channels from the start)
            a[a.index('-incoming') + 1] = 'defer'
        return a

    def execute(self):
        self.start('dst')
        self.start('src')
        src, dst = self.qmps['src'], self.qmps['dst']
        caps = [{'capability': 'events', 'state': True},
                {'capability': 'postcopy-ram', 'state': True}]
        if self.preempt:
            caps.append({'capability': 'postcopy-preempt', 'state': True})
        src.cmd('migrate-set-capabilities', capabilities=caps)
        dst.cmd('migrate-set-capabilities', capabilities=caps + [
            {'capability': 'postcopy-blocktime', 'state': True}])
        params = {'max-bandwidth': LIVE_BANDWIDTH,
                  'downtime-limit': POSTCOPY_DOWNTIME_LIMIT}
        bg = POSTCOPY_SCENARIOS[self.scenario].get('postcopy_bandwidth')
        if bg:
            params['max-postcopy-bandwidth'] = bg
        src.cmd('migrate-set-parameters', **params)
        uri = 'unix:' + os.path.join(self.tmp, 'mig.sock')
        dst.cmd('migrate-incoming', uri=uri)
        self.wait_serial('src', lambda s: b'B' in s, 60, "the guest's first 'B'")
        loadavg = os.getloadavg()[0]
        t0 = time.time()
        src.cmd('migrate', uri=uri)
        second = src.wait(lambda e: e['event'] == 'MIGRATION_PASS' and
                          e['data'].get('pass', 0) >= 2, 120)
        if second is None:
            raise BenchError('no second dirty sync (MIGRATION_PASS 2) in 120 s')
        src.cmd('migrate-start-postcopy')
        ev = src.wait(is_migration('completed', 'failed', 'cancelled'), 300)
        if ev is None or ev['data']['status'] != 'completed':
            info = src.cmd('query-migrate')
            raise BenchError('source postcopy %s: %s' % (
                info.get('status'), info.get('error-desc', 'no error-desc')))
        dev = dst.wait(is_migration('completed', 'failed'), 120)
        if dev is None or dev['data']['status'] != 'completed':
            raise BenchError('destination did not complete: %s' % self.log_tail('dst'))
        resume = dst.find(lambda e: e['event'] == 'RESUME')
        stop = src.find(lambda e: e['event'] == 'STOP')
        deadline = time.time() + 10
        while src.cmd('query-status').get('status') == 'finish-migrate' and \
                time.time() < deadline:
            time.sleep(0.01)
        info = src.cmd('query-migrate')
        dinfo = dst.cmd('query-migrate')
        n = self.serial('dst').count(b'B')
        self.wait_serial('dst', lambda s: s.count(b'B') > n, 10,
                         "guest progress on the destination (a new 'B')")
        if b'X' in self.serial('dst') or b'A' in self.serial('dst'):
            raise BenchError('guest trapped or rebooted on the destination')
        self.quit()

        ram = info.get('ram', {})
        requests = ram.get('postcopy-requests', 0)
        vbt = dinfo.get('postcopy-vcpu-blocktime') or []
        pct = dinfo.get('x-postcopy-latency-percentiles') or {}
        dist = dinfo.get('postcopy-latency-dist')
        r = {
            'total-time': info.get('total-time'),
            'downtime': info.get('downtime'),
            'wall-downtime': ((event_time(resume) - event_time(stop)) * 1000
                              if resume and stop else None),
            'wall-total': (event_time(dev) - t0) * 1000,
            'requests': requests,
            'faults': pct.get('count', sum(dist) if dist else None),
            'p50-us': pct['p50'] / 1000 if 'p50' in pct else None,
            'p99-us': pct['p99'] / 1000 if 'p99' in pct else None,
            'max-us': pct['max'] / 1000 if 'max' in pct else None,
            'avg-us': (dinfo['postcopy-latency'] / 1000
                       if 'postcopy-latency' in dinfo else None),
            # QEMU 7.2's only figure: blocked ms per vCPU; per request
            'bt-per-req-us': (sum(vbt) * 1000.0 / requests
                              if vbt and requests else None),
            'latency-dist': dist,
            'postcopy-blocktime': dinfo.get('postcopy-blocktime'),
            'loadavg': loadavg,
            'notes': self.notes,
        }
        return r


def postcopy_run_one(binary, scenario, tmp, quick, elves):
    run = PostcopyRun(binary, scenario, tmp, quick, elves)
    try:
        return run.execute()
    except (BenchError, OSError, ValueError, KeyError) as e:
        tails = ['%s log: %s' % (s, run.log_tail(s).replace('\n', ' | '))
                 for s in ('src', 'dst') if run.log_tail(s)]
        raise BenchError('; '.join([str(e)] + tails))
    finally:
        run.cleanup()


def postcopy_target_text(res, scenario):
    parts = []
    for k, lim in POSTCOPY_TARGETS.get(scenario, {}).items():
        v = res.get(k)
        parts.append('%s<=%d %s' % (k.replace('-us', ''), lim,
                                     'ok' if v is not None and v <= lim else 'MISS'))
    return ', '.join(parts)


def print_postcopy_table(label, path, results, show_targets):
    print()
    print('== postcopy, %s: %s' % (label, path))
    head = ['scenario'] + [c[1] for c in POSTCOPY_COLUMNS] + \
        (['target'] if show_targets else [])
    lines = []
    for sc, res in results.items():
        if 'error' in res:
            lines.append([sc, 'FAILED: ' + res['error']])
            continue
        line = [sc] + [fmt(res.get(c[0]), c[2]) for c in POSTCOPY_COLUMNS]
        if show_targets:
            line.append(postcopy_target_text(res, sc))
        lines.append(line)
    widths = [max(len(str(x[i])) for x in [head] + [l for l in lines if len(l) > 2])
              for i in range(len(head))]
    print('  '.join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for l in lines:
        if len(l) == 2:
            print(l[0].ljust(widths[0]) + '  ' + l[1])
        else:
            print('  '.join(str(x).rjust(w) if i else str(x).ljust(w)
                            for i, (x, w) in enumerate(zip(l, widths))))
    for sc, res in results.items():
        dist = res.get('latency-dist')
        if dist:
            cells = ['[%s,%s)us:%d' % (1 << i, 1 << (i + 1), n)
                     for i, n in enumerate(dist) if n]
            print('  %s postcopy-latency-dist: %s' % (sc, ' '.join(cells)))


def postcopy_bench(binaries, scenarios, quick, repeat):
    """Run the postcopy scenarios on every binary; returns (results, failed)."""
    results = {label: {} for label, _ in binaries}
    failed = False
    tmp = tempfile.mkdtemp(prefix='migration-bench-postcopy-')
    try:
        elves = {'a-b': os.path.join(tmp, 'a-b.elf')}
        guest_image('a-b', elves['a-b'])
        for sc in scenarios:
            for label, path in binaries:
                runs = []
                for i in range(repeat):
                    t = time.time()
                    try:
                        r = postcopy_run_one(path, sc, tmp, quick, elves)
                    except BenchError as e:
                        results[label][sc] = {'error': str(e)}
                        print('%s %s run %d: FAILED: %s' % (label, sc, i + 1, e))
                        failed = True
                        break
                    runs.append(r)
                    print('%s %s run %d: total %s ms, requests %s, p50 %s us, '
                          'p99 %s us, bt/req %s us (%.1f s)'
                          % (label, sc, i + 1, r['total-time'], r['requests'],
                             fmt(r['p50-us'], '%.1f'), fmt(r['p99-us'], '%.1f'),
                             fmt(r['bt-per-req-us'], '%.1f'), time.time() - t))
                    sys.stdout.flush()
                else:
                    res = median_result(runs)
                    res['latency-dist'] = runs[-1].get('latency-dist')
                    results[label][sc] = res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for label, path in binaries:
        print_postcopy_table(label, path, results[label], label == 'binary')
    print()
    print('postcopy: p50/p99/max/avg: fault-to-placement latency of faults that '
          'needed the source (Godwit: x-postcopy-latency-percentiles, '
          'postcopy-latency; QEMU 7.2 has neither); bt/req: sum of '
          'postcopy-vcpu-blocktime / postcopy-requests, the only latency '
          'figure QEMU 7.2 gives (ms-granular).')
    return results, failed


# ---------------------------------------------------------------- report

def median_result(runs):
    out = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        if k == 'notes':
            out[k] = sorted({n for r in runs for n in r['notes']})
        elif vals:
            out[k] = statistics.median(vals)
        else:
            out[k] = runs[0][k]
    out['runs'] = len(runs)
    return out


def fmt(v, f):
    if v is None:
        return '-'
    return f % v


def target_text(res, scenario, mode):
    tg = TARGETS.get((scenario, mode), {})
    parts = []
    for k, lim in tg.items():
        v = res.get(k)
        ok = v is not None and v <= lim
        parts.append('%s<=%d %s' % ('total' if k == 'total-time' else k, lim,
                                     'ok' if ok else 'MISS'))
    return ', '.join(parts)


def print_table(label, path, results, rows, show_targets):
    print()
    print('== %s: %s' % (label, path))
    head = ['scenario'] + [c[1] for c in COLUMNS] + (['target'] if show_targets else [])
    lines = []
    for sc, mode in rows:
        res = results.get((sc, mode))
        name = '%s %s' % (sc, mode)
        if res is None:
            continue
        if 'error' in res or 'skipped' in res:
            lines.append([name, ('FAILED: ' + res['error']) if 'error' in res
                          else ('skipped: ' + res['skipped'])])
            continue
        line = [name] + [fmt(res.get(c[0]), c[2]) for c in COLUMNS]
        if show_targets:
            line.append(target_text(res, sc, mode))
        lines.append(line)
    widths = [max(len(str(x[i])) for x in [head] + [l for l in lines if len(l) > 2])
              for i in range(len(head))]
    print('  '.join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for l in lines:
        if len(l) == 2:
            print(l[0].ljust(widths[0]) + '  ' + l[1])
        else:
            print('  '.join(str(x).rjust(w) if i else str(x).ljust(w)
                            for i, (x, w) in enumerate(zip(l, widths))))
    for sc, mode in rows:
        res = results.get((sc, mode))
        if res and res.get('notes'):
            for n in res['notes']:
                print('  note (%s %s): %s' % (sc, mode, n))


def print_ratio(a_label, b_label, a, b, rows):
    print()
    print('== ratio %s / %s (times: %s/%s, > 1 means %s is faster; '
          'throughput: %s/%s)' % (b_label, a_label, b_label, a_label, a_label,
                                  a_label, b_label))
    cols = [('total-time', 'total'), ('downtime', 'downtime'),
            ('wall-downtime', 'wall-dt'), ('setup-time', 'setup'),
            ('wall-total', 'wall-tot'), ('throughput-mibs', 'MiB/s')]
    head = ['scenario'] + [c[1] for c in cols]
    lines = []
    for sc, mode in rows:
        ra, rb = a.get((sc, mode)), b.get((sc, mode))
        if not ra or not rb:
            continue
        line = ['%s %s' % (sc, mode)]
        for k, _ in cols:
            va, vb = ra.get(k), rb.get(k)
            if not isinstance(va, (int, float)) or not isinstance(vb, (int, float)):
                line.append('-')
                continue
            if k in TIME_FIGURES:
                num, den = vb, va
            else:
                num, den = va, vb
            if den == 0:
                # a 0 ms figure: QMP reports whole milliseconds
                line.append('inf' if num > 0 else '1.00')
            else:
                line.append('%.2f' % (num / den))
        lines.append(line)
    widths = [max(len(x[i]) for x in [head] + lines) for i in range(len(head))]
    print('  '.join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for l in lines:
        print('  '.join(x.rjust(w) if i else x.ljust(w) for i, (x, w) in enumerate(zip(l, widths))))


# ---------------------------------------------------------------- main

def parse_scenarios(names):
    rows = []
    for n in names or list(SCENARIOS):
        base, _, mode = n.partition(':')
        if base not in SCENARIOS:
            raise SystemExit('migration-bench: unknown scenario %r (have: %s)'
                             % (base, ', '.join(SCENARIOS)))
        if mode and mode not in MEMORY_MODES:
            raise SystemExit('migration-bench: unknown memory mode %r (cold, prealloc)' % mode)
        for m in ([mode] if mode else MEMORY_MODES):
            if (base, m) not in rows:
                rows.append((base, m))
    return rows


def resolve(path):
    if os.sep in path:
        return os.path.abspath(path) if os.access(path, os.X_OK) else None
    return shutil.which(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--binary', default=os.path.join(SRC, 'build', 'godwit-system-riscv64'),
                    help='Godwit binary (default: build/godwit-system-riscv64)')
    ap.add_argument('--qemu', default='qemu-system-riscv64',
                    help='stock QEMU to compare with (default: qemu-system-riscv64 on PATH)')
    ap.add_argument('--no-qemu', action='store_true', help='skip the stock QEMU columns')
    ap.add_argument('--scenario', action='append', metavar='NAME',
                    help='%s, optionally :cold or :prealloc (repeatable; default all)'
                    % ', '.join(list(SCENARIOS) + list(POSTCOPY_SCENARIOS)))
    ap.add_argument('--repeat', type=int, default=1, help='runs per figure; the median is shown')
    ap.add_argument('--quick', action='store_true',
                    help='smoke run: 256 MiB random, 1 GiB zero, 256 MiB live guests, 1 run')
    ap.add_argument('--json', metavar='FILE', help='save the results as JSON')
    args = ap.parse_args()
    if args.quick:
        args.repeat = 1
    # the postcopy scenarios run apart, in their own functions
    pc_rows = [n for n in (args.scenario or list(POSTCOPY_SCENARIOS))
               if n in POSTCOPY_SCENARIOS]
    other = [n for n in (args.scenario or []) if n not in POSTCOPY_SCENARIOS]
    rows = parse_scenarios(other) if other or not args.scenario else []

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    binaries = []
    b = resolve(args.binary)
    if not b:
        print('migration-bench: --binary %s: not found or not executable' % args.binary,
              file=sys.stderr)
        return 1
    binaries.append(('binary', b))
    if args.no_qemu:
        print('migration-bench: stock QEMU columns skipped: --no-qemu')
    else:
        q = resolve(args.qemu)
        if q:
            binaries.append(('qemu', q))
        else:
            print('migration-bench: stock QEMU columns skipped: %s not found '
                  "(Debian: apt-get install qemu-system-misc)" % args.qemu)

    for label, path in binaries:
        try:
            v = subprocess.run([path, '--version'], capture_output=True, text=True,
                               timeout=10).stdout.split('\n')[0]
        except (OSError, subprocess.TimeoutExpired) as e:
            v = 'unknown (%s)' % e
        print('%-6s %s: %s' % (label, path, v))
    la = os.getloadavg()
    print('host: %d CPUs, load %.2f %.2f %.2f, MemAvailable %s MiB; transport unix socket; '
          '%s; %d run(s) per figure (median)'
          % (os.cpu_count(), la[0], la[1], la[2],
             (mem_available() or 0) // MiB, 'quick' if args.quick else 'full sizes',
             args.repeat))

    results = {label: {} for label, _ in binaries}
    failed = False
    tmp = tempfile.mkdtemp(prefix='migration-bench-')
    try:
        elves = {}
        for g in ('a-b', 'rate'):
            elves[g] = os.path.join(tmp, g + '.elf')
            guest_image(g, elves[g])
        rndfiles = {}
        for sc, mode in rows:
            cfg = SCENARIOS[sc]
            nrand = cfg.get('quick_random' if args.quick else 'random', 0)
            key = (cfg.get('data', 'random'), nrand)
            if nrand and key not in rndfiles:
                p = os.path.join(tmp, '%s-%d.bin' % key)
                t = time.time()
                if key[0] == 'mix':
                    mix_file(b, p, nrand)
                else:
                    random_file(p, nrand)
                print('generated %d MiB of %s data in %.1f s'
                      % (nrand // MiB, key[0], time.time() - t))
                rndfiles[key] = p
            ram = cfg['quick_ram'] if args.quick else cfg['ram']
            need = ram * (2 if mode == 'prealloc' else 1) + nrand * 2
            for label, path in binaries:
                avail = mem_available()
                if avail is not None and need > avail:
                    results[label][(sc, mode)] = {
                        'skipped': 'needs ~%d MiB, %d MiB available' % (need // MiB, avail // MiB)}
                    print('%s %s %s: skipped (memory)' % (label, sc, mode))
                    continue
                runs = []
                for i in range(args.repeat):
                    t = time.time()
                    try:
                        r = run_one(path, sc, mode, cfg, tmp, args.quick,
                                    rndfiles.get(key), elves)
                    except BenchError as e:
                        results[label][(sc, mode)] = {'error': str(e)}
                        print('%s %s %s run %d: FAILED: %s' % (label, sc, mode, i + 1, e))
                        failed = True
                        break
                    runs.append(r)
                    if r['guest-progress'] is False and label == 'binary':
                        print('%s %s %s run %d: FAILED: the guest made no progress on '
                              'the destination' % (label, sc, mode, i + 1))
                        failed = True
                    print('%s %s %s run %d: total %s ms, downtime %s ms, wall-dt %s ms '
                          '(%.1f s)' % (label, sc, mode, i + 1, r['total-time'], r['downtime'],
                                        fmt(r['wall-downtime'], '%.1f'), time.time() - t))
                    sys.stdout.flush()
                else:
                    results[label][(sc, mode)] = median_result(runs)
    except (KeyboardInterrupt, Terminated) as e:
        print('migration-bench: interrupted (%s); processes cleaned up' % (e or 'SIGINT'),
              file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    for label, path in binaries:
        if rows:
            print_table(label, path, results[label], rows,
                        show_targets=(label == 'binary'))
    if len(binaries) == 2 and rows:
        print_ratio('binary', 'qemu', results['binary'], results['qemu'], rows)
    if pc_rows:
        pc_results, pc_failed = postcopy_bench(binaries, pc_rows, args.quick,
                                               args.repeat)
        failed = failed or pc_failed
        for label in pc_results:
            results.setdefault(label, {}).update(
                {(sc, 'postcopy'): r for sc, r in pc_results[label].items()})
    print()
    for label, _ in binaries:
        print_multifd_ratio(label, results[label], rows)
        print_compress_ratio(label, results[label], rows)
        print_multifd_compression(label, results[label], rows, b, args.quick)
    print('wall-dt: source STOP event -> destination RESUME event (live only; paused '
          'guests emit neither); wall-tot: migrate command -> destination MIGRATION '
          'completed event; MiB/s: ram transferred / total-time; mbps: as reported.')

    if args.json:
        out = {
            'host': {'cpus': os.cpu_count(), 'loadavg-start': la, 'quick': args.quick,
                     'repeat': args.repeat, 'transport': 'unix'},
            'binaries': dict(binaries),
            'results': {label: {'%s:%s' % k: v for k, v in res.items()}
                        for label, res in results.items()},
        }
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
