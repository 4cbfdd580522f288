#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests for scripts/analyze-migration.py.

    python3 tests/migration/test-analyze-migration.py [-v]

* Synthetic streams, built here field by field with struct.pack, cover every
  record kind the analyser decodes and every malformed case (bad magic, old
  version, truncation at every offset, bad footer, unknown section type,
  oversized counted string, vmdesc length beyond EOF, ...).  Each malformed
  stream must give exactly one error line naming an offset, exit status 1,
  and never a traceback.
* Streams from stock QEMU (qemu-system-riscv64, Debian's qemu-system-misc)
  are produced at test time in a temporary directory and decoded; those
  tests are skipped, with the reason printed, when QEMU is not installed.
  No QEMU-produced stream is stored in the tree.
"""
import contextlib
import importlib.util
import io
import json
import re
import socket
import time
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
SCRIPT = os.path.join(SRC, 'scripts', 'analyze-migration.py')
WIRE_H = os.path.join(SRC, 'migration', 'wire.h')
QEMU = shutil.which('qemu-system-riscv64')


def load_analyser():
    spec = importlib.util.spec_from_file_location('analyze_migration', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


am = load_analyser()


# ---------------------------------------------------------------------------
# Stream building blocks (values spelled out: these are golden bytes)
# ---------------------------------------------------------------------------
def be16(v):
    return struct.pack('>H', v)


def be32(v):
    return struct.pack('>I', v)


def be64(v):
    return struct.pack('>Q', v)


def cstr(s):
    b = s.encode()
    return bytes([len(b)]) + b


TPS = 1024                      # configuration/target-page-bits = 10
HEADER = b'QEVM' + be32(3)      # magic 0x5145564d, version 3


def configuration(name='virt', subsections=b''):
    return b'\x07' + be32(len(name)) + name.encode() + subsections


def sub_page_bits(bits=10):
    return b'\x05' + cstr('configuration/target-page-bits') + be32(1) + be32(bits)


def pre():
    """Header and a configuration with 1 KiB target pages."""
    return HEADER + configuration('virt', sub_page_bits(10))


def sub_caps(*caps):
    return (b'\x05' + cstr('configuration/capabilities') + be32(1) + be32(len(caps)) +
            b''.join(cstr(c) for c in caps))


def sub_uuid(u=bytes(range(16))):
    return b'\x05' + cstr('configuration/uuid') + be32(1) + u


def start_full(t, sid, idstr, inst, ver):
    return bytes([t]) + be32(sid) + cstr(idstr) + be32(inst) + be32(ver)


def part_end(t, sid):
    return bytes([t]) + be32(sid)


def footer(sid):
    return b'\x7e' + be32(sid)


def command(cmd, payload=b''):
    return b'\x08' + be16(cmd) + be16(len(payload)) + payload


ZERO, MEM_SIZE, PAGE, EOS, CONT, XBZRLE, HOOK, COMP, FLUSH = \
    0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200

PAGE_A2 = bytes([0xa5]) * TPS
# XBZRLE on top of PAGE_A2: zero run 16, data run 2 (0x01 0x02), zero run 0x90
# (two-byte ULEB128 0x90 0x01), data run 1 (0xff)
XBZRLE_DATA = bytes([16, 2, 1, 2, 0x90, 0x01, 1, 0xff])
PAGE_A2_AFTER = bytearray(PAGE_A2)
PAGE_A2_AFTER[16:18] = b'\x01\x02'
PAGE_A2_AFTER[18 + 0x90] = 0xff
PAGE_A3 = bytes(range(256)) * (TPS // 256)
PAGE_B0 = b'godwit!!' * (TPS // 8)

DEV_DESC = {
    'name': 'dev', 'instance_id': 0, 'vmsd_name': 'dev', 'version': 2,
    'fields': [
        {'name': 'reg', 'type': 'uint32', 'size': 4},
        {'name': 'arr', 'array_len': 2, 'type': 'uint16', 'size': 2},
        {'name': 'neg', 'type': 'int64', 'size': 8},
        {'name': 'inner', 'type': 'struct', 'size': 2, 'struct': {
            'vmsd_name': 'dev/inner', 'version': 1, 'fields': [
                {'name': 'b', 'type': 'uint8', 'size': 1},
                {'name': 'flag', 'type': 'bool', 'size': 1}]}},
        {'name': 'blob', 'type': 'buffer', 'size': 3},
        {'name': 'ptrs', 'index': 0, 'type': 'nullptr', 'size': 1},
        {'name': 'ptrs', 'index': 1, 'type': 'uint8', 'size': 1},
    ],
    'subsections': [{'vmsd_name': 'dev/sub', 'version': 1,
                     'fields': [{'name': 'extra', 'type': 'uint64', 'size': 8}]}],
}
DEV_DATA = (be32(0xdeadbeef) + be16(1) + be16(2) + struct.pack('>q', -5) + b'\x07\x01' +
            b'abc' + b'\x30' + b'\x09' +
            b'\x05' + cstr('dev/sub') + be32(1) + be64(0x1122334455667788))


def vmdesc(devices, page_size=TPS, extra_len=0):
    j = json.dumps({'page_size': page_size, 'devices': devices}).encode()
    return b'\x06' + be32(len(j) + extra_len) + j


def ram_start(sid=2, blocks=(('blk.a', 4 * TPS), ('blk.b', 2 * TPS))):
    total = sum(n for _, n in blocks)
    body = be64(total | MEM_SIZE) + b''.join(cstr(n) + be64(l) for n, l in blocks)
    return start_full(1, sid, 'ram', 0, 4) + body + be64(EOS) + footer(sid)


def ram_part(sid=2):
    return (part_end(2, sid) +
            be64(0 | ZERO) + cstr('blk.a') + b'\x00' +
            be64(TPS | ZERO | CONT) + b'\x00' +
            be64(2 * TPS | PAGE | CONT) + PAGE_A2 +
            be64(2 * TPS | XBZRLE | CONT) + b'\x01' + be16(len(XBZRLE_DATA)) + XBZRLE_DATA +
            be64(3 * TPS | COMP | CONT) + be32(len(zlib.compress(PAGE_A3))) +
            zlib.compress(PAGE_A3) +
            be64(0 | PAGE) + cstr('blk.b') + PAGE_B0 +
            be64(FLUSH) + be64(HOOK) + be64(EOS) + footer(sid))


def good_stream():
    """A complete precopy stream: every piece the analyser decodes in precopy."""
    return (HEADER + configuration('virt', sub_page_bits(10)) +
            command(1) + command(2, be32(1)) +
            ram_start() + ram_part() + part_end(3, 2) + be64(EOS) + footer(2) +
            start_full(4, 3, 'dev', 0, 2) + DEV_DATA + footer(3) +
            b'\x00' + vmdesc([DEV_DESC]))


def postcopy_stream():
    """ADVISE, DISCARD, PACKAGED{LISTEN, FULL, RUN}, and no vmdesc (postcopy)."""
    discard = b'\x00' + cstr('blk.a') + b'\x00' + be64(0) + be64(2 * TPS)
    pkg = (command(4) + start_full(4, 3, 'dev', 0, 2) + DEV_DATA + footer(3) + command(5))
    return (HEADER + configuration('virt', sub_page_bits(10)) +
            command(1) + command(2, be32(1)) + command(3, be64(TPS) + be64(TPS)) +
            ram_start() + command(6, discard) + command(7, be32(len(pkg))) + pkg +
            part_end(3, 2) + be64(3 * TPS | ZERO) + cstr('blk.a') + b'\x00' + be64(EOS) +
            footer(2) + command(10, cstr('blk.b')) + command(9) + command(11) + b'\x00')


class Run:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def json(self):
        return json.loads(self.out)


def run_inproc(data, *args):
    """Run the analyser's main() on data in this process; never raises."""
    with tempfile.NamedTemporaryFile(suffix='.mig', delete=False) as f:
        f.write(data)
        path = f.name
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = am.main(['-f', path] + list(args))
            except SystemExit as e:
                rc = e.code
            except Exception as e:  # noqa: BLE001 - the analyser must never let one out
                rc = 'exception %r' % e
    finally:
        os.unlink(path)
    return Run(rc, out.getvalue(), err.getvalue())


class Base(unittest.TestCase):
    def assertStreamError(self, res, *needles):
        """Exactly one line, naming an offset; exit status 1; no traceback."""
        self.assertEqual(res.rc, 1, res.err)
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 1, res.err)
        self.assertRegex(lines[0], r'^analyze-migration: .*: offset 0x[0-9a-f]+: ')
        self.assertNotIn('internal error', lines[0])
        self.assertNotIn('Traceback', res.err)
        self.assertEqual(res.out, '')
        for n in needles:
            self.assertIn(n, lines[0])
        return lines[0]


# ---------------------------------------------------------------------------
class TestGoodStreams(Base):
    def test_precopy(self):
        res = run_inproc(good_stream())
        self.assertEqual(res.rc, 0, res.err)
        j = res.json()
        self.assertEqual(j['magic'], 'QEVM')
        self.assertEqual(j['configuration']['name'], 'virt')
        self.assertEqual(j['configuration']['target-page-bits'], 10)
        self.assertEqual(j['page_size'], TPS)
        self.assertEqual([c['cmd'] for c in j['commands']], ['OPEN_RETURN_PATH', 'PING'])
        self.assertEqual(j['commands'][1]['value'], 1)
        self.assertEqual([(s['type'], s['idstr']) for s in j['sections']],
                         [('START', 'ram'), ('PART', 'ram'), ('END', 'ram'), ('FULL', 'dev')])
        ram = j['ram']
        self.assertEqual(ram['total_bytes'], 6 * TPS)
        a, b = ram['blocks']['blk.a'], ram['blocks']['blk.b']
        self.assertEqual((a['used_length'], a['zero_pages'], a['normal_pages'],
                          a['xbzrle_pages'], a['compressed_pages']), (4 * TPS, 2, 1, 1, 1))
        self.assertEqual((b['used_length'], b['normal_pages']), (2 * TPS, 1))
        self.assertEqual((ram['eos'], ram['multifd_flush'], ram['hook']), (3, 1, 1))
        dev = j['devices']['dev (0)']
        self.assertEqual(dev['version'], 2)
        f = dev['fields']
        self.assertEqual(f['reg'], 0xdeadbeef)
        self.assertEqual(f['arr'], [1, 2])
        self.assertEqual(f['neg'], -5)
        self.assertEqual(f['inner'], {'b': 7, 'flag': True})
        self.assertEqual(f['blob'], b'abc'.hex())
        self.assertEqual(f['ptrs'], [None, 9])
        self.assertEqual(f['subsections']['dev/sub']['fields']['extra'], 0x1122334455667788)
        self.assertNotIn('warnings', j)
        self.assertIn('vmdesc', j)

    def test_memory_dump_applies_xbzrle_and_zlib(self):
        res = run_inproc(good_stream(), '-m')
        self.assertEqual(res.rc, 0, res.err)
        pages = res.json()['ram_pages']
        self.assertEqual(pages['blk.a']['%#x' % (2 * TPS)], bytes(PAGE_A2_AFTER).hex())
        self.assertEqual(pages['blk.a']['%#x' % (3 * TPS)], PAGE_A3.hex())
        self.assertEqual(pages['blk.b']['0x0'], PAGE_B0.hex())
        self.assertEqual(sorted(pages['blk.a']), ['0x800', '0xc00'])

    def test_extract(self):
        with tempfile.TemporaryDirectory() as d:
            res = run_inproc(good_stream(), '-x', '-o', d)
            self.assertEqual(res.rc, 0, res.err)
            with open(os.path.join(d, 'blk.a'), 'rb') as f:
                img = f.read()
            self.assertEqual(len(img), 4 * TPS)
            self.assertEqual(img[2 * TPS:3 * TPS], bytes(PAGE_A2_AFTER))
            self.assertEqual(img[:2 * TPS], bytes(2 * TPS))
            with open(os.path.join(d, 'desc.json')) as f:
                self.assertEqual(json.load(f)['devices'][0]['name'], 'dev')
            with open(os.path.join(d, 'state.json')) as f:
                self.assertIn('dev (0)', json.load(f)['devices'])

    def test_dump_desc(self):
        res = run_inproc(good_stream(), '-d', 'desc')
        self.assertEqual(res.rc, 0, res.err)
        self.assertEqual(res.json()['devices'][0], DEV_DESC)

    def test_postcopy_commands_and_package(self):
        res = run_inproc(postcopy_stream())
        self.assertEqual(res.rc, 0, res.err)
        j = res.json()
        cmds = [c['cmd'] for c in j['commands']]
        self.assertEqual(cmds, ['OPEN_RETURN_PATH', 'PING', 'POSTCOPY_ADVISE',
                                'POSTCOPY_RAM_DISCARD', 'PACKAGED', 'POSTCOPY_LISTEN',
                                'POSTCOPY_RUN', 'RECV_BITMAP', 'POSTCOPY_RESUME',
                                'SWITCHOVER_START'])
        c = {x['cmd']: x for x in j['commands']}
        self.assertEqual(c['POSTCOPY_ADVISE']['ram_pagesize_summary'], TPS)
        self.assertEqual(c['POSTCOPY_RAM_DISCARD']['ranges'], [[0, 2 * TPS]])
        self.assertEqual(c['POSTCOPY_LISTEN']['package'], c['PACKAGED']['offset'])
        self.assertEqual(c['RECV_BITMAP']['ramblock'], 'blk.b')
        full = [s for s in j['sections'] if s['type'] == 'FULL'][0]
        self.assertEqual(full['package'], c['PACKAGED']['offset'])
        # no vmdesc: the device is skipped to its footer, with a warning
        self.assertEqual(j['devices']['dev (0)']['undecoded_bytes'], len(DEV_DATA))
        self.assertTrue(any('no VMDESCRIPTION' in w for w in j['warnings']))

    def test_capabilities_uuid_gpa_and_hugepage_field(self):
        # x-ignore-shared adds the GPA to each MEM_SIZE entry; an ADVISE whose
        # summary has two page sizes makes the page_size field appear for the
        # block with the larger one
        cfg = configuration('virt', sub_page_bits(10) + sub_caps('x-ignore-shared') + sub_uuid())
        blocks = (be64(TPS + 2 * 0x200000 | MEM_SIZE) +
                  cstr('small') + be64(TPS) + be64(0x80000000) +
                  cstr('huge') + be64(2 * 0x200000) + be64(0x200000) + be64(0x100000000))
        data = (HEADER + cfg + command(3, be64(0x200000 | TPS) + be64(TPS)) +
                start_full(1, 2, 'ram', 0, 4) + blocks + be64(EOS) + footer(2) + b'\x00')
        res = run_inproc(data)
        self.assertEqual(res.rc, 0, res.err)
        j = res.json()
        self.assertEqual(j['configuration']['capabilities'], ['x-ignore-shared'])
        self.assertEqual(j['configuration']['uuid'], '00010203-0405-0607-0809-0a0b0c0d0e0f')
        b = j['ram']['blocks']
        self.assertEqual(b['small']['gpa'], 0x80000000)
        self.assertNotIn('page_size', b['small'])
        self.assertEqual(b['huge']['page_size'], 0x200000)
        self.assertEqual(b['huge']['gpa'], 0x100000000)

    def test_mapped_ram(self):
        # 10.2 mapped-ram: a 28-byte header after the block entry; the stream
        # goes on at pages_offset + used_length; pages and bitmap by offset
        cfg = configuration('virt', sub_page_bits(10) + sub_caps('mapped-ram'))
        prefix = (HEADER + cfg + start_full(1, 2, 'ram', 0, 4) + be64(2 * TPS | MEM_SIZE) +
                  cstr('m') + be64(2 * TPS))
        bitmap_off = len(prefix) + 28
        pages_off = bitmap_off + 8
        data = (prefix + be32(1) + be64(TPS) + be64(bitmap_off) + be64(pages_off) +
                b'\x02' + bytes(7) + bytes(TPS) + PAGE_B0 +
                be64(EOS) + footer(2) + b'\x00')
        res = run_inproc(data, '-m')
        self.assertEqual(res.rc, 0, res.err)
        j = res.json()
        mr = j['ram']['blocks']['m']['mapped_ram']
        self.assertEqual((mr['bitmap_offset'], mr['pages_offset'], mr['pages_present']),
                         (bitmap_off, pages_off, 1))
        self.assertEqual(j['ram_pages']['m'], {'0x400': PAGE_B0.hex()})
        bad = data[:len(prefix) + 20] + be64(len(data) + 1) + data[len(prefix) + 28:]
        self.assertStreamError(run_inproc(bad), 'beyond the end of the file')

    def test_no_footers(self):
        # machine types <= 2.3 send no section footers
        data = (HEADER + configuration('pc-1.0') +
                start_full(1, 2, 'ram', 0, 4) + be64(TPS * 4 | MEM_SIZE) + cstr('r') +
                be64(TPS * 4) + be64(EOS) +
                part_end(3, 2) + be64(ZERO) + cstr('r') + b'\x00' + be64(EOS) + b'\x00')
        res = run_inproc(data)
        self.assertEqual(res.rc, 0, res.err)
        # page size stays 4096 (no target-page-bits, no vmdesc): 4 KiB block
        self.assertEqual(res.json()['ram']['blocks']['r']['zero_pages'], 1)


# ---------------------------------------------------------------------------
class TestMalformed(Base):
    def test_bad_magic(self):
        self.assertStreamError(run_inproc(b'QEMU' + be32(3) + b'\x00'), 'offset 0x0:', 'magic')

    def test_old_version(self):
        self.assertStreamError(run_inproc(b'QEVM' + be32(2) + b'\x00'), 'offset 0x4:',
                               'obsolete')

    def test_unsupported_version(self):
        self.assertStreamError(run_inproc(b'QEVM' + be32(4) + b'\x00'), 'unsupported')

    def test_empty_file(self):
        self.assertStreamError(run_inproc(b''), 'offset 0x0:', 'stream ends here')

    def test_truncated_everywhere(self):
        data = good_stream()
        eof = data.rindex(b'\x00\x06')      # the EOF byte before the vmdesc
        for cut in range(len(data)):
            res = run_inproc(data[:cut])
            if cut == eof + 1:
                # ends right after EOF: a valid stream without a vmdesc
                self.assertEqual(res.rc, 0, 'cut at %d: %s' % (cut, res.err))
                continue
            with self.subTest(cut=cut):
                self.assertStreamError(res)

    def test_truncated_postcopy_everywhere(self):
        data = postcopy_stream()
        for cut in range(len(data)):
            with self.subTest(cut=cut):
                self.assertStreamError(run_inproc(data[:cut]))

    def test_bad_footer(self):
        data = good_stream().replace(footer(3), footer(4))
        self.assertStreamError(run_inproc(data), 'footer names section 4, expected 3')

    def test_footer_marker_missing(self):
        data = bytearray(good_stream())
        data[data.rindex(footer(3))] = 0x7f
        self.assertStreamError(run_inproc(bytes(data)), 'expected section footer')

    def test_unknown_section_type(self):
        data = HEADER + configuration() + b'\x09' + be32(1)
        line = self.assertStreamError(run_inproc(data), 'unknown section type 0x09')
        self.assertIn('offset 0x%x:' % (len(HEADER) + len(configuration())), line)

    def test_subsection_at_top_level(self):
        data = pre() + ram_start() + b'\x05' + cstr('x/y')
        self.assertStreamError(run_inproc(data), 'unknown section type 0x05')

    def test_oversized_counted_string(self):
        data = HEADER + configuration() + b'\x01' + be32(2) + b'\xff' + b'ram' + be32(0)
        self.assertStreamError(run_inproc(data), 'section idstr (255 bytes)',
                               'only 7 bytes remain')

    def test_oversized_machine_name(self):
        data = HEADER + b'\x07' + be32(0x7fffffff) + b'virt'
        self.assertStreamError(run_inproc(data), 'offset 0xd:', 'machine type name')

    def test_vmdesc_length_beyond_eof(self):
        data = good_stream()
        eof = data.rindex(b'\x00\x06')
        bad = data[:eof + 1] + vmdesc([DEV_DESC], extra_len=10)
        self.assertStreamError(run_inproc(bad), 'VMDESCRIPTION JSON')

    def test_vmdesc_invalid_json(self):
        data = HEADER + configuration() + b'\x00' + b'\x06' + be32(5) + b'{"a":'
        self.assertStreamError(run_inproc(data), 'offset 0x%x:' % (len(data) - 5), 'JSON')

    def test_vmdesc_does_not_match_data(self):
        desc = json.loads(json.dumps(DEV_DESC))
        desc['fields'][0]['size'] = 8
        desc['fields'][0]['type'] = 'uint64'
        data = good_stream()
        eof = data.rindex(b'\x00\x06')
        self.assertStreamError(run_inproc(data[:eof + 1] + vmdesc([desc])))

    def test_vmdesc_garbage_entries(self):
        data = good_stream()
        eof = data.rindex(b'\x00\x06')
        for bad in ({'name': 'dev', 'instance_id': 0, 'fields': [{'name': 'x'}]},
                    {'name': 'dev', 'instance_id': 0, 'fields': 'nope'},
                    {'name': 'dev', 'instance_id': 0, 'fields': [
                        {'name': 's', 'type': 'struct', 'size': 1}]}):
            with self.subTest(bad=bad):
                self.assertStreamError(run_inproc(data[:eof + 1] + vmdesc([bad])),
                                       'unusable VMDESCRIPTION')

    def test_ram_version(self):
        data = HEADER + start_full(1, 2, 'ram', 0, 3) + be64(EOS)
        self.assertStreamError(run_inproc(data), 'ram section version 3')

    def test_ram_unknown_flags(self):
        data = HEADER + start_full(1, 2, 'ram', 0, 4) + be64(0x400)
        self.assertStreamError(run_inproc(data), 'unknown flag bits 0x400')

    def test_ram_unknown_combination(self):
        data = HEADER + start_full(1, 2, 'ram', 0, 4) + be64(ZERO | PAGE)
        self.assertStreamError(run_inproc(data), 'unknown combination')

    def test_ram_continue_without_block(self):
        data = HEADER + start_full(1, 2, 'ram', 0, 4) + be64(ZERO | CONT) + b'\x00'
        self.assertStreamError(run_inproc(data), 'CONTINUE')

    def test_ram_unknown_block(self):
        data = (pre() + ram_start() + part_end(2, 2) + be64(ZERO) + cstr('nope') + b'\x00')
        self.assertStreamError(run_inproc(data), 'unknown RAMBlock "nope"')

    def test_ram_page_outside_block(self):
        data = (pre() + ram_start() + part_end(2, 2) + be64(4096 * 2 | ZERO) +
                cstr('blk.b') + b'\x00')
        self.assertStreamError(run_inproc(data), 'outside RAMBlock "blk.b"')

    def test_ram_block_lengths_exceed_total(self):
        data = (HEADER + start_full(1, 2, 'ram', 0, 4) + be64(4096 | MEM_SIZE) +
                cstr('a') + be64(8192))
        self.assertStreamError(run_inproc(data), 'more than the MEM_SIZE total')

    def xbzrle_stream(self, enc, flag=1, length=None):
        n = len(enc) if length is None else length
        return (pre() + ram_start() + part_end(2, 2) + be64(XBZRLE) + cstr('blk.b') +
                bytes([flag]) + be16(n) + enc)

    def test_xbzrle_bad(self):
        cases = {
            'encoding flag': self.xbzrle_stream(b'\x00\x01\x00', flag=2),
            'exceeds the page size': self.xbzrle_stream(b'', length=4097),
            'bad data-run length': self.xbzrle_stream(b'\x00\x00\x00'),
            'bad zero-run length': self.xbzrle_stream(b'\x00\x01\x07\x00\x01\x07'),
            'goes past': self.xbzrle_stream(b'\x00\x05\x01'),
            'fewer than 2 bytes': self.xbzrle_stream(b'\x00\x01\x07\x05'),
        }
        for needle, data in cases.items():
            with self.subTest(needle=needle):
                self.assertStreamError(run_inproc(data), needle)

    def test_compressed_page_bad(self):
        base = pre() + ram_start() + part_end(2, 2) + be64(COMP) + cstr('blk.b')
        self.assertStreamError(run_inproc(base + be32(100000)), 'compressBound')
        self.assertStreamError(run_inproc(base + be32(4) + b'abcd'), 'zlib')

    def test_unknown_command(self):
        self.assertStreamError(run_inproc(HEADER + command(12)), 'unknown command 12')
        self.assertStreamError(run_inproc(HEADER + command(0)), 'unknown command 0')

    def test_command_bad_length(self):
        self.assertStreamError(run_inproc(HEADER + command(2, b'\x00\x00\x01')),
                               'PING has length 3, expected 4')
        self.assertStreamError(run_inproc(HEADER + command(3, b'\x00' * 8)),
                               'POSTCOPY_ADVISE length 8')
        self.assertStreamError(run_inproc(HEADER + command(10, cstr('ab') + b'x')),
                               'RECV_BITMAP length 4, expected 3')

    def test_discard_bad(self):
        ok = b'\x00' + cstr('blk.a') + b'\x00' + be64(0) + be64(4096)
        self.assertStreamError(run_inproc(HEADER + command(6, b'\x01' + ok[1:])),
                               'discard version 1')
        self.assertStreamError(run_inproc(HEADER + command(6, ok + b'\x00')),
                               'not a multiple of 16')
        self.assertStreamError(run_inproc(HEADER + command(6, ok[:8])), 'at least 20')

    def test_package_longer_than_file(self):
        self.assertStreamError(run_inproc(HEADER + command(7, be32(1000)) + b'\x08'),
                               'PACKAGED stream of 1000 bytes')

    def test_part_without_start(self):
        self.assertStreamError(run_inproc(HEADER + part_end(2, 9) + be64(EOS)),
                               'section id 9')

    def test_unknown_configuration_subsection(self):
        data = HEADER + configuration('virt', b'\x05' + cstr('configuration/new') + be32(1))
        self.assertStreamError(run_inproc(data), 'unknown configuration subsection')

    def test_cli_error_is_one_line(self):
        """The real command line: one stderr line, status 1, no traceback."""
        with tempfile.NamedTemporaryFile(suffix='.mig') as f:
            f.write(good_stream()[:40])
            f.flush()
            p = subprocess.run([sys.executable, SCRIPT, '-f', f.name],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, '')
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertRegex(p.stderr, r'offset 0x[0-9a-f]+: expected ')

    def test_missing_file(self):
        res = run_inproc(b'')
        p = subprocess.run([sys.executable, SCRIPT, '-f', '/nonexistent/x.mig'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertNotIn('Traceback', p.stderr)
        self.assertEqual(res.rc, 1)


# ---------------------------------------------------------------------------
class TestConstants(Base):
    def test_header_matches_builtin_table(self):
        if not os.path.exists(WIRE_H):
            self.skipTest('%s not present' % WIRE_H)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = am.main(['--check-constants', '--wire-header', WIRE_H])
        self.assertEqual(rc, 0, out.getvalue())

    def test_difference_is_reported(self):
        with tempfile.NamedTemporaryFile('w', suffix='.h', delete=False) as f:
            for name, v in am.FALLBACK_CONSTANTS.items():
                if name == 'RAM_SAVE_FLAG_EOS':
                    v = 0x11
                if name != 'MIG_CMD_PING':
                    f.write('#define %s %d\n' % (name, v))
            path = f.name
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = am.main(['--check-constants', '--wire-header', path])
        finally:
            os.unlink(path)
        self.assertEqual(rc, 1)
        self.assertIn('RAM_SAVE_FLAG_EOS is 0x11', out.getvalue())
        self.assertIn('MIG_CMD_PING is not defined', out.getvalue())

    def test_header_syntax(self):
        text = ('/* #define COMMENTED 1 */\n'
                '#define A 0x10u  /* x */\n'
                '#  define B (-1)\n'
                '#define C (512 * 1024)\n'
                '#define D 0x0123456789abcdefULL // y\n'
                '#define E (A | 0x1)\n'
                '#define F "string"\n'
                '#define G\n')
        got = am.parse_wire_header(text)
        self.assertEqual(got, {'A': 0x10, 'B': -1, 'C': 512 * 1024,
                               'D': 0x0123456789abcdef, 'E': 0x11})

    def test_values_come_from_the_header(self):
        # a header that renumbers EOS must change what the analyser accepts
        with tempfile.NamedTemporaryFile('w', suffix='.h', delete=False) as f:
            f.write('#define RAM_SAVE_FLAG_EOS 0x1\n')
            path = f.name
        try:
            data = HEADER + start_full(1, 2, 'ram', 0, 4) + be64(0x1) + footer(2) + b'\x00'
            res = run_inproc(data, '--wire-header', path)
            self.assertEqual(res.rc, 0, res.err)
            self.assertTrue(res.json()['wire_constants'].startswith(os.path.normpath(path)))
            self.assertStreamError(run_inproc(data), 'unknown flag bits 0x1')
        finally:
            os.unlink(path)

    def test_fallback_without_header(self):
        res = run_inproc(good_stream(), '--wire-header', '/nonexistent/wire.h')
        self.assertEqual(res.rc, 0, res.err)
        self.assertIn('built-in table', res.json()['wire_constants'])


# ---------------------------------------------------------------------------
def qemu_stream(tmp, name, hmp=(), extra=()):
    """Save a stream of a stopped riscv virt with stock QEMU; return its path."""
    path = os.path.join(tmp, name)
    cmds = list(hmp) + ['migrate "exec:cat > %s"' % path, 'info migrate', 'quit']
    argv = [QEMU, '-M', 'virt', '-m', '32M', '-bios', 'none', '-display', 'none',
            '-nodefaults', '-S', '-monitor', 'stdio'] + list(extra)
    p = subprocess.run(argv, input='\n'.join(cmds) + '\n', capture_output=True,
                       text=True, timeout=120)
    if 'Migration status: completed' not in p.stdout:
        raise AssertionError('QEMU did not complete the migration:\n%s\n%s'
                             % (p.stdout[-2000:], p.stderr[-2000:]))
    return path


class StreamFileTest(Base):
    """Analyses stream files an emulator wrote into a per-class temp dir."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='analyze-migration-')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def analyse(self, path, *args):
        with open(path, 'rb') as f:
            data = f.read()
        res = run_inproc(data, *args)
        self.assertEqual(res.rc, 0, res.err)
        return res.json()


@unittest.skipIf(QEMU is None, 'qemu-system-riscv64 is not installed '
                 '(apt-get install qemu-system-misc) - no reference streams')
class TestStockQemu(StreamFileTest):

    def test_plain_virt(self):
        j = self.analyse(qemu_stream(self.tmp, 'plain.mig'))
        self.assertEqual(j['configuration'], {'offset': 8, 'name': 'virt'})
        self.assertEqual(j['page_size'], 4096)
        blocks = j['ram']['blocks']
        self.assertEqual(blocks['riscv_virt_board.ram']['used_length'], 32 << 20)
        mrom = blocks['riscv_virt_board.mrom']
        self.assertGreater(mrom['used_length'], 0)
        self.assertEqual(mrom['used_length'] % 4096, 0)
        self.assertGreaterEqual(mrom['normal_pages'], 1)    # the reset vector
        self.assertEqual(j['ram']['total_bytes'], sum(b['used_length'] for b in blocks.values()))
        for name, b in blocks.items():
            pages = b['zero_pages'] + b['normal_pages']
            self.assertEqual(pages, b['used_length'] // 4096, name)
        kinds = [s['type'] for s in j['sections']]
        self.assertEqual(kinds[0], 'START')
        self.assertIn('END', kinds)
        full = [s['idstr'] for s in j['sections'] if s['type'] == 'FULL']
        for dev in ('cpu', 'serial', 'globalstate'):
            self.assertIn(dev, full)
        self.assertEqual(full[-1], 'globalstate')
        # every FULL section was decoded from the vmdesc, nothing skipped
        self.assertEqual(len(j['devices']), len(full))
        for key, dev in j['devices'].items():
            self.assertIn('fields', dev, key)
        self.assertEqual(j['devices']['globalstate (0)']['runstate'], 'prelaunch')
        self.assertEqual(len(j['devices']['cpu (0)']['fields']['env.gpr']), 32)
        self.assertNotIn('warnings', j)
        self.assertIn('vmdesc', j)

    def test_uuid_and_ignore_shared(self):
        uuid = '12345678-9abc-def0-1122-334455667788'
        j = self.analyse(qemu_stream(
            self.tmp, 'uuid.mig',
            hmp=['migrate_set_capability validate-uuid on',
                 'migrate_set_capability x-ignore-shared on'],
            extra=['-uuid', uuid]))
        cfg = j['configuration']
        self.assertEqual(cfg['name'], 'virt')
        self.assertEqual(cfg['uuid'], uuid)
        self.assertEqual(cfg['capabilities'], ['x-ignore-shared'])
        blocks = j['ram']['blocks']
        self.assertEqual(blocks['riscv_virt_board.ram']['gpa'], 0x80000000)
        self.assertEqual(blocks['riscv_virt_board.mrom']['gpa'], 0x1000)

    def test_compress_and_backend_name(self):
        j = self.analyse(qemu_stream(
            self.tmp, 'compress.mig', hmp=['migrate_set_capability compress on'],
            extra=['-object', 'memory-backend-ram,id=mem0,size=32M',
                   '-machine', 'memory-backend=mem0']))
        blocks = j['ram']['blocks']
        self.assertIn('mem0', blocks)               # named by the backend id alone
        self.assertNotIn('riscv_virt_board.ram', blocks)
        self.assertGreater(sum(b['compressed_pages'] for b in blocks.values()), 0)

    def test_dump_memory_and_extract(self):
        path = qemu_stream(self.tmp, 'mem.mig')
        j = self.analyse(path, '-m')
        self.assertIn('0x0', j['ram_pages']['riscv_virt_board.mrom'])
        out = os.path.join(self.tmp, 'extract')
        with open(path, 'rb') as f:
            res = run_inproc(f.read(), '-x', '-o', out)
        self.assertEqual(res.rc, 0, res.err)
        with open(os.path.join(out, 'riscv_virt_board.mrom'), 'rb') as f:
            mrom = f.read()
        self.assertEqual(mrom[:4096].hex(), j['ram_pages']['riscv_virt_board.mrom']['0x0'])


GODWIT = os.environ.get('GODWIT_BINARY')


def godwit_stream(tmp, name, running_guest=False):
    """Save a Godwit guest with 'migrate file:PATH' and return the path.

    A stopped machine (-S) or the a-b guest running on two vCPUs; QMP is
    spoken here directly so the test needs nothing but the binary.
    """
    path = os.path.join(tmp, name)
    sock = os.path.join(tmp, name + '.qmp')
    argv = [GODWIT, '-M', 'virt', '-m', '128M', '-bios', 'none', '-display', 'none',
            '-qmp', 'unix:%s,server=on,wait=off' % sock]
    if running_guest:
        with open(os.path.join(SRC, 'tests', 'migration-guest', 'a-b.h')) as hf:
            src = hf.read()
        body = src[src.index('{') + 1:src.index('};')]
        elf = os.path.join(tmp, name + '.elf')
        with open(elf, 'wb') as f:
            f.write(bytes(int(x, 16) for x in re.findall(r'0x([0-9a-fA-F]{2})', body)))
        argv += ['-smp', '2', '-kernel', elf]
    else:
        argv += ['-S']
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                conn = socket.socket(socket.AF_UNIX)
                conn.connect(sock)
                break
            except OSError:
                conn.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        f = conn.makefile('rwb')

        def cmd(name_, **args):
            f.write(json.dumps({'execute': name_, 'arguments': args}).encode() + b'\n')
            f.flush()
            while True:
                r = json.loads(f.readline())
                if 'event' not in r:
                    return r
        json.loads(f.readline())
        cmd('qmp_capabilities')
        if running_guest:
            # wait until the guest has visibly run (the first byte of its
            # first page at DRAM+1M is no longer zero), however loaded the
            # machine is, then a little more so the harts are mid-pass
            probe = os.path.join(tmp, name + '.probe')
            while True:
                cmd('pmemsave', val=0x80100000, size=1, filename=probe)
                with open(probe, 'rb') as pf:
                    if pf.read(1) not in (b'', b'\0'):
                        break
                if time.time() > deadline + 60:
                    raise AssertionError('the a-b guest never ran')
                time.sleep(0.05)
            time.sleep(0.2)
            cmd('stop')
        cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 34})
        r = cmd('migrate', uri='file:' + path)
        assert 'error' not in r, r
        while True:
            st = cmd('query-migrate')['return']['status']
            if st in ('completed', 'failed', 'cancelled'):
                break
            if time.time() > deadline + 60:
                raise AssertionError('Godwit did not complete the migration')
            time.sleep(0.05)
        assert st == 'completed', st
        cmd('quit')
        f.close()
        conn.close()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return path


@unittest.skipIf(GODWIT is None, 'GODWIT_BINARY is not set (meson sets it)')
class TestGodwitStreams(StreamFileTest):
    """The analyser reads what Godwit writes (the precopy issue's promise)."""

    def test_stopped_machine(self):
        j = self.analyse(godwit_stream(self.tmp, 'stopped.mig'))
        self.assertEqual(j['configuration']['name'], 'virt')
        blocks = j['ram']['blocks']
        self.assertEqual(blocks['riscv_virt_board.ram']['used_length'], 128 << 20)
        self.assertIn('riscv_virt_board.mrom', blocks)
        for name, b in blocks.items():
            self.assertEqual(b['zero_pages'] + b['normal_pages'],
                             b['used_length'] // 4096, name)
        full = [s['idstr'] for s in j['sections'] if s['type'] == 'FULL']
        for dev in ('cpu', 'serial', 'riscv.aclint', 'globalstate'):
            self.assertIn(dev, full)
        self.assertEqual(len(j['devices']), len(full))
        self.assertEqual(j['devices']['globalstate (0)']['runstate'], 'prelaunch')
        self.assertNotIn('warnings', j)

    def test_running_guest_and_extract(self):
        path = godwit_stream(self.tmp, 'running.mig', running_guest=True)
        j = self.analyse(path)
        self.assertEqual(j['devices']['globalstate (0)']['runstate'], 'paused')
        self.assertIn('cpu (1)', j['devices'])               # both harts
        out = os.path.join(self.tmp, 'extract')
        with open(path, 'rb') as f:
            res = run_inproc(f.read(), '-x', '-o', out)
        self.assertEqual(res.rc, 0, res.err)
        with open(os.path.join(out, 'riscv_virt_board.ram'), 'rb') as f:
            ram = f.read()
        # the a-b guest's invariant holds in the extracted RAM
        first = [ram[off] for off in range(1 << 20, 100 << 20, 4096)]
        steps = sum(1 for a, b in zip(first, first[1:]) if a != b)
        bad = sum(1 for a, b in zip(first, first[1:]) if a != b and b != (a - 1) & 0xff)
        self.assertEqual(bad, 0)
        self.assertLessEqual(steps, 1)
        self.assertTrue(any(first), 'the guest never ran')


if __name__ == '__main__':
    if QEMU is None:
        print('note: qemu-system-riscv64 is not installed; the stock-QEMU tests are skipped '
              '(apt-get install qemu-system-misc)', file=sys.stderr)
    unittest.main()
