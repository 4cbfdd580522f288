#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Decode a saved migration stream (QEMU 7.2/10.2 or Godwit) and print it as JSON.

    analyze-migration.py -f FILE [-d state|desc] [-m] [-x [-o DIR]]
    analyze-migration.py --check-constants [--wire-header PATH]

The stream is a file written by `migrate "exec:cat > FILE"` or `migrate
file:FILE`.  Device (FULL) sections are decoded field by field with the
VMDESCRIPTION JSON found after the EOF byte; the "ram" section is decoded
record by record into a per-RAMBlock page summary.

Wire constants are read at run time from migration/wire.h (found next to
this script, or given with --wire-header); the built-in table below is used
only when the header cannot be found, and --check-constants compares the two.

A malformed stream gives exactly one line on stderr, naming the byte offset
and what was expected there, and exit status 1.  See
docs/devel/migration/analyze-migration.md.
"""
import argparse
import ast
import json
import os
import re
import struct
import sys

try:
    import zlib
except ImportError:  # a Python built without zlib: COMPRESS_PAGE is length-checked only
    zlib = None

PROG = 'analyze-migration'

# ---------------------------------------------------------------------------
# Wire constants: the names this analyser uses, with the values it expects.
# The table is a fallback only; the values in migration/wire.h win.
# ---------------------------------------------------------------------------
FALLBACK_CONSTANTS = {
    'QEMU_VM_FILE_MAGIC': 0x5145564d,
    'QEMU_VM_FILE_VERSION_COMPAT': 0x00000002,
    'QEMU_VM_FILE_VERSION': 0x00000003,
    'QEMU_VM_EOF': 0x00,
    'QEMU_VM_SECTION_START': 0x01,
    'QEMU_VM_SECTION_PART': 0x02,
    'QEMU_VM_SECTION_END': 0x03,
    'QEMU_VM_SECTION_FULL': 0x04,
    'QEMU_VM_SUBSECTION': 0x05,
    'QEMU_VM_VMDESCRIPTION': 0x06,
    'QEMU_VM_CONFIGURATION': 0x07,
    'QEMU_VM_COMMAND': 0x08,
    'QEMU_VM_SECTION_FOOTER': 0x7e,
    'MIG_CMD_LEN_VARIABLE': -1,
    'MIG_CMD_INVALID': 0,
    'MIG_CMD_OPEN_RETURN_PATH': 1,
    'MIG_CMD_OPEN_RETURN_PATH_LEN': 0,
    'MIG_CMD_PING': 2,
    'MIG_CMD_PING_LEN': 4,
    'MIG_CMD_POSTCOPY_ADVISE': 3,
    'MIG_CMD_POSTCOPY_ADVISE_LEN_NONE': 0,
    'MIG_CMD_POSTCOPY_ADVISE_LEN_RAM': 16,
    'MIG_CMD_POSTCOPY_LISTEN': 4,
    'MIG_CMD_POSTCOPY_LISTEN_LEN': 0,
    'MIG_CMD_POSTCOPY_RUN': 5,
    'MIG_CMD_POSTCOPY_RUN_LEN': 0,
    'MIG_CMD_POSTCOPY_RAM_DISCARD': 6,
    'MIG_CMD_POSTCOPY_RAM_DISCARD_VERSION': 0,
    'MIG_CMD_POSTCOPY_RAM_DISCARD_MIN_LEN': 20,
    'MIG_CMD_PACKAGED': 7,
    'MIG_CMD_PACKAGED_LEN': 4,
    'MIG_CMD_ENABLE_COLO': 8,
    'MIG_CMD_ENABLE_COLO_LEN': 0,
    'MIG_CMD_POSTCOPY_RESUME': 9,
    'MIG_CMD_POSTCOPY_RESUME_LEN': 0,
    'MIG_CMD_RECV_BITMAP': 10,
    'MIG_CMD_SWITCHOVER_START': 11,
    'MIG_CMD_SWITCHOVER_START_LEN': 0,
    'MIG_CMD_MAX': 12,
    'VMS_NULLPTR_MARKER': 0x30,
    'RAM_SAVE_FLAG_FULL': 0x001,
    'RAM_SAVE_FLAG_ZERO': 0x002,
    'RAM_SAVE_FLAG_MEM_SIZE': 0x004,
    'RAM_SAVE_FLAG_PAGE': 0x008,
    'RAM_SAVE_FLAG_EOS': 0x010,
    'RAM_SAVE_FLAG_CONTINUE': 0x020,
    'RAM_SAVE_FLAG_XBZRLE': 0x040,
    'RAM_SAVE_FLAG_HOOK': 0x080,
    'RAM_SAVE_FLAG_COMPRESS_PAGE': 0x100,
    'RAM_SAVE_FLAG_MULTIFD_FLUSH': 0x200,
    'RAM_SAVE_FLAG_MASK_LIMIT': 0x400,
    'RAM_SECTION_VERSION': 4,
    'ENCODING_FLAG_XBZRLE': 0x01,
}

DEFINE_RE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+(.+?)[ \t]*$',
                       re.M)
INT_SUFFIX_RE = re.compile(r'\b(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]+\b')


def eval_c_int(expr, known):
    """Value of a simple C integer expression, or None if it is not one."""
    expr = INT_SUFFIX_RE.sub(r'\1', expr.strip())
    try:
        tree = ast.parse(expr, mode='eval')
    except SyntaxError:
        return None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) \
                and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name) and node.id in known:
            return known[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
            v = ev(node.operand)
            return {ast.USub: -v, ast.UAdd: v, ast.Invert: ~v}[type(node.op)]
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                   ast.LShift: lambda: a << b, ast.RShift: lambda: a >> b,
                   ast.BitOr: lambda: a | b, ast.BitAnd: lambda: a & b}
            if type(node.op) in ops:
                return ops[type(node.op)]()
        raise ValueError(expr)

    try:
        return ev(tree)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def parse_wire_header(text):
    """Every `#define NAME VALUE` with an integer VALUE, in file order."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    out = {}
    for m in DEFINE_RE.finditer(text):
        v = eval_c_int(m.group(2), out)
        if v is not None:
            out[m.group(1)] = v
    return out


def default_header_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, os.pardir, 'migration', 'wire.h')


def load_constants(path):
    """(constants, source description); falls back to the built-in table."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            parsed = parse_wire_header(f.read())
    except OSError:
        return dict(FALLBACK_CONSTANTS), 'built-in table (%s not found)' % path
    merged = dict(FALLBACK_CONSTANTS)
    missing = [n for n in FALLBACK_CONSTANTS if n not in parsed]
    merged.update({n: parsed[n] for n in FALLBACK_CONSTANTS if n in parsed})
    src = os.path.normpath(path)
    if missing:
        src += ' (built-in value for %s)' % ', '.join(missing)
    return merged, src


def check_constants(path):
    path = os.path.normpath(path)
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            parsed = parse_wire_header(f.read())
    except OSError as e:
        print('%s: cannot read %s: %s' % (PROG, path, e.strerror), file=sys.stderr)
        return 1
    bad = 0
    for name, want in FALLBACK_CONSTANTS.items():
        if name not in parsed:
            print('%s: %s is not defined in %s' % (PROG, name, path))
            bad += 1
        elif parsed[name] != want:
            print('%s: %s is %#x in %s but %#x in the built-in table'
                  % (PROG, name, parsed[name], path, want))
            bad += 1
    if bad:
        print('%s: %d difference(s) between the built-in table and %s' % (PROG, bad, path))
        return 1
    print('%s: all %d built-in constants match %s'
          % (PROG, len(FALLBACK_CONSTANTS), os.path.normpath(path)))
    return 0


class K:
    """Attribute access to the wire constants (K.QEMU_VM_EOF, ...)."""

    def __init__(self, table):
        self.__dict__.update(table)


# ---------------------------------------------------------------------------
# Bounds-checked reader
# ---------------------------------------------------------------------------
class StreamError(Exception):
    def __init__(self, offset, msg):
        super().__init__(msg)
        self.offset = offset
        self.msg = msg


class Reader:
    """Big-endian reads from buf[pos:end]; offsets are absolute file offsets."""

    def __init__(self, buf, pos=0, end=None):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def remaining(self):
        return self.end - self.pos

    def need(self, n, what):
        if n < 0 or n > self.end - self.pos:
            left = self.end - self.pos
            if left == 0:
                rest = 'the stream ends here'
            elif left == 1:
                rest = 'only 1 byte remains'
            else:
                rest = 'only %d bytes remain' % left
            raise StreamError(self.pos, 'expected %s (%d byte%s) but %s'
                              % (what, n, '' if n == 1 else 's', rest))

    def take(self, n, what):
        self.need(n, what)
        b = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return b

    def _int(self, fmt, n, what):
        self.need(n, what)
        v = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += n
        return v

    def u8(self, what):
        return self._int('>B', 1, what)

    def be16(self, what):
        return self._int('>H', 2, what)

    def be32(self, what):
        return self._int('>I', 4, what)

    def be64(self, what):
        return self._int('>Q', 8, what)

    def peek_u8(self):
        return self.buf[self.pos] if self.pos < self.end else None

    def peek_be64(self):
        if self.end - self.pos < 8:
            return None
        return struct.unpack_from('>Q', self.buf, self.pos)[0]

    def counted_str(self, what):
        n = self.u8('length byte of ' + what)
        raw = self.take(n, what)
        return raw.decode('latin-1')

    def seek(self, pos, what):
        if pos < 0 or pos > self.end:
            raise StreamError(self.pos, '%s points to offset %#x, beyond the end of the file (%#x)'
                              % (what, pos, self.end))
        self.pos = pos


# ---------------------------------------------------------------------------
# VMState decoding driven by the vmdesc JSON
# ---------------------------------------------------------------------------
INT_TYPES = {
    'bool': (1, False), 'int8': (1, True), 'uint8': (1, False), 'uint8 equal': (1, False),
    'int16': (2, True), 'uint16': (2, False), 'uint16 equal': (2, False),
    'int32': (4, True), 'uint32': (4, False), 'int32 equal': (4, True),
    'int32 le': (4, True), 'uint32 equal': (4, False),
    'int64': (8, True), 'uint64': (8, False), 'int64 equal': (8, True),
    'timer': (8, True), 'CPU_Double_U': (8, False), 'float64': (8, False),
}


class DescError(Exception):
    """The vmdesc itself is not usable (a key missing or of the wrong type)."""


def _desc_int(obj, key, where):
    v = obj.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise DescError('%s: key "%s" is missing or not a non-negative integer' % (where, key))
    return v


class VMStateDecoder:
    def __init__(self, k, warnings):
        self.k = k
        self.warnings = warnings

    def vmsd(self, r, desc, path):
        if not isinstance(desc, dict):
            raise DescError('%s: description is not an object' % path)
        out = {}
        fields = desc.get('fields', [])
        if not isinstance(fields, list):
            raise DescError('%s: "fields" is not a list' % path)
        for fd in fields:
            if not isinstance(fd, dict) or not isinstance(fd.get('name'), str):
                raise DescError('%s: a field has no "name"' % path)
            name = fd['name']
            fpath = path + '.' + name
            if 'array_len' in fd:
                n = _desc_int(fd, 'array_len', fpath)
                out[name] = [self.element(r, fd, '%s[%d]' % (fpath, i)) for i in range(n)]
            elif 'index' in fd:
                idx = _desc_int(fd, 'index', fpath)
                lst = out.setdefault(name, [])
                if not isinstance(lst, list) or idx != len(lst):
                    raise DescError('%s: element index %d out of order' % (fpath, idx))
                lst.append(self.element(r, fd, '%s[%d]' % (fpath, idx)))
            else:
                out[name] = self.element(r, fd, fpath)
        subs = desc.get('subsections', [])
        if not isinstance(subs, list):
            raise DescError('%s: "subsections" is not a list' % path)
        for sd in subs:
            if not isinstance(sd, dict) or not isinstance(sd.get('vmsd_name'), str):
                raise DescError('%s: a subsection has no "vmsd_name"' % path)
            want = sd['vmsd_name']
            off = r.pos
            mark = r.u8('subsection marker for "%s"' % want)
            if mark != self.k.QEMU_VM_SUBSECTION:
                raise StreamError(off, 'expected subsection marker 0x%02x for "%s", found 0x%02x'
                                  % (self.k.QEMU_VM_SUBSECTION, want, mark))
            off = r.pos
            name = r.counted_str('subsection name')
            if name != want:
                raise StreamError(off, 'expected subsection "%s", found "%s"' % (want, name))
            ver = r.be32('version of subsection "%s"' % want)
            body = self.vmsd(r, sd, path + '/' + want.rsplit('/', 1)[-1])
            out.setdefault('subsections', {})[name] = {'version': ver, 'fields': body}
        return out

    def element(self, r, fd, path):
        typ = fd.get('type')
        size = _desc_int(fd, 'size', path)
        start = r.pos
        if typ in ('struct', 'vstruct'):
            if not isinstance(fd.get('struct'), dict):
                raise DescError('%s: struct field has no "struct" description' % path)
            v = self.vmsd(r, fd['struct'], path)
            if r.pos - start != size:
                self.warnings.append('%s at %#x: vmdesc size %d, decoded %d bytes'
                                     % (path, start, size, r.pos - start))
            return v
        if typ == 'nullptr':
            b = r.take(size, path + ' (nullptr marker)')
            if b != bytes([self.k.VMS_NULLPTR_MARKER]) * size:
                raise StreamError(start, 'expected the NULL pointer marker 0x%02x for %s'
                                  % (self.k.VMS_NULLPTR_MARKER, path))
            return None
        if typ in INT_TYPES and INT_TYPES[typ][0] == size:
            raw = r.take(size, '%s (%s)' % (path, typ))
            v = int.from_bytes(raw, 'big', signed=INT_TYPES[typ][1])
            return bool(v) if typ == 'bool' else v
        return r.take(size, '%s (%s, %d bytes)' % (path, typ, size)).hex()


# ---------------------------------------------------------------------------
# The RAM section
# ---------------------------------------------------------------------------
def compress_bound(n):
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 13


def uleb_small(data, i):
    """(value, bytes used) of a 1- or 2-byte ULEB128, or None if invalid."""
    if i >= len(data):
        return None
    b0 = data[i]
    if b0 < 0x80:
        return b0, 1
    if i + 1 >= len(data) or data[i + 1] & 0x80:
        return None
    return (b0 & 0x7f) | (data[i + 1] << 7), 2


def xbzrle_apply(enc, page):
    """Decode XBZRLE data onto page (a bytearray) in place; returns an error or None."""
    i, d, slen, dlen = 0, 0, len(enc), len(page)
    while i < slen:
        if slen - i < 2:
            return 'fewer than 2 bytes left before a zero-run length at %d' % i
        r = uleb_small(enc, i)
        if r is None or (i and r[0] == 0):
            return 'bad zero-run length at %d' % i
        i += r[1]
        d += r[0]
        if d > dlen:
            return 'zero run goes past the page end at %d' % i
        if slen - i < 2:
            return 'fewer than 2 bytes left before a data-run length at %d' % i
        r = uleb_small(enc, i)
        if r is None or r[0] == 0:
            return 'bad data-run length at %d' % i
        i += r[1]
        n = r[0]
        if d + n > dlen or i + n > slen:
            return 'data run of %d bytes goes past the page or the record at %d' % (n, i)
        page[d:d + n] = enc[i:i + n]
        d += n
        i += n
    return None


class RamState:
    def __init__(self, an):
        self.an = an
        self.k = an.k
        self.blocks = {}          # name -> info dict (output)
        self.contents = {}        # name -> {offset: bytes}, kept only with -m/-x
        self.last_block = None
        self.total = None
        self.counts = {'eos': 0, 'multifd_flush': 0, 'hook': 0}

    def summary(self):
        out = {'total_bytes': self.total, 'blocks': self.blocks}
        out.update(self.counts)
        return out

    def load(self, r, version, where):
        if version != self.k.RAM_SECTION_VERSION:
            raise StreamError(where, 'ram section version %d, expected %d'
                              % (version, self.k.RAM_SECTION_VERSION))
        while True:
            if self.record(r):
                return

    def record(self, r):
        k = self.k
        tps = self.an.page_size
        off = r.pos
        word = r.be64('a ram record (be64 offset|flags)')
        flags = word & (tps - 1)
        addr = word & ~(tps - 1)
        known = (k.RAM_SAVE_FLAG_ZERO | k.RAM_SAVE_FLAG_MEM_SIZE | k.RAM_SAVE_FLAG_PAGE |
                 k.RAM_SAVE_FLAG_EOS | k.RAM_SAVE_FLAG_CONTINUE | k.RAM_SAVE_FLAG_XBZRLE |
                 k.RAM_SAVE_FLAG_HOOK | k.RAM_SAVE_FLAG_COMPRESS_PAGE |
                 k.RAM_SAVE_FLAG_MULTIFD_FLUSH)
        if flags & ~known:
            raise StreamError(off, 'ram record %#018x has unknown flag bits %#x'
                              % (word, flags & ~known))
        base = flags & ~k.RAM_SAVE_FLAG_CONTINUE
        if flags == k.RAM_SAVE_FLAG_MEM_SIZE:
            self.mem_size(r, addr)
        elif flags == k.RAM_SAVE_FLAG_EOS:
            self.counts['eos'] += 1
            return True
        elif flags == k.RAM_SAVE_FLAG_MULTIFD_FLUSH:
            self.counts['multifd_flush'] += 1
        elif flags == k.RAM_SAVE_FLAG_HOOK:
            self.counts['hook'] += 1
        elif base in (k.RAM_SAVE_FLAG_ZERO, k.RAM_SAVE_FLAG_PAGE, k.RAM_SAVE_FLAG_XBZRLE,
                      k.RAM_SAVE_FLAG_COMPRESS_PAGE):
            name = self.block_of(r, flags, off)
            self.page(r, name, base, addr, off)
        else:
            raise StreamError(off, 'unknown combination of ram flags %#x in record %#018x'
                              % (flags, word))
        return False

    def mem_size(self, r, total):
        k = self.k
        self.total = total
        caps = self.an.capabilities
        acc = 0
        while acc < total:
            off = r.pos
            name = r.counted_str('RAMBlock idstr in the MEM_SIZE list')
            length = r.be64('used_length of RAMBlock "%s"' % name)
            info = {'used_length': length, 'offset': off}
            ps = self.optional_page_size(r)
            if ps is not None:
                info['page_size'] = ps
            if 'x-ignore-shared' in caps:
                info['gpa'] = r.be64('GPA (mr->addr) of RAMBlock "%s" (x-ignore-shared)' % name)
            if 'mapped-ram' in caps:
                self.mapped_ram_header(r, name, length, info)
            info.update({'zero_pages': 0, 'normal_pages': 0, 'xbzrle_pages': 0,
                         'compressed_pages': 0})
            self.blocks[name] = info
            acc += length
            if acc > total:
                raise StreamError(off, 'RAMBlock lengths add up to %#x, more than the '
                                  'MEM_SIZE total %#x' % (acc, total))

    def optional_page_size(self, r):
        """The postcopy page_size field, present only for blocks whose page size
        differs from the host page size, after a POSTCOPY_ADVISE.  The host page
        size is taken as the lowest bit of the advised page-size summary."""
        summary = self.an.advise_summary
        if not summary or summary & (summary - 1) == 0:
            return None
        host = summary & -summary
        v = r.peek_be64()
        if v is None or v == host or v & (v - 1) or not v & summary:
            return None
        r.pos += 8
        return v

    def mapped_ram_header(self, r, name, length, info):
        ver = r.be32('mapped-ram header version of "%s"' % name)
        if ver != 1:
            raise StreamError(r.pos - 4, 'mapped-ram header version %d, expected 1' % ver)
        ps = r.be64('mapped-ram page_size')
        bmo = r.be64('mapped-ram bitmap_offset')
        pgo = r.be64('mapped-ram pages_offset')
        info['mapped_ram'] = {'page_size': ps, 'bitmap_offset': bmo, 'pages_offset': pgo}
        nbits = length // (ps or 1)
        bm_len = (nbits + 63) // 64 * 8
        if bmo + bm_len > r.end or pgo + length > r.end:
            raise StreamError(r.pos - 16, 'mapped-ram bitmap/pages of "%s" lie beyond the '
                              'end of the file' % name)
        bitmap = bytes(r.buf[bmo:bmo + bm_len])
        info['mapped_ram']['pages_present'] = sum(bin(b).count('1') for b in bitmap)
        if self.an.keep_contents:
            pages = self.contents.setdefault(name, {})
            for i in range(nbits):   # host unsigned long bitmap, read as little-endian
                if bitmap[i // 8] >> (i % 8) & 1:
                    pages[i * ps] = bytes(r.buf[pgo + i * ps:pgo + (i + 1) * ps])
        r.seek(pgo + length, 'mapped-ram pages_offset + used_length of "%s"' % name)

    def block_of(self, r, flags, off):
        if flags & self.k.RAM_SAVE_FLAG_CONTINUE:
            if self.last_block is None:
                raise StreamError(off, 'CONTINUE page record with no previous block')
            return self.last_block
        noff = r.pos
        name = r.counted_str('RAMBlock idstr of a page record')
        if name not in self.blocks:
            raise StreamError(noff, 'page record for unknown RAMBlock "%s"' % name)
        self.last_block = name
        return name

    def page(self, r, name, base, addr, off):
        k = self.k
        tps = self.an.page_size
        info = self.blocks[name]
        if addr + tps > info['used_length']:
            raise StreamError(off, 'page offset %#x is outside RAMBlock "%s" (used_length %#x)'
                              % (addr, name, info['used_length']))
        pages = self.contents.setdefault(name, {}) if self.an.keep_contents else None
        if base == k.RAM_SAVE_FLAG_ZERO:
            fill = r.u8('fill byte of a zero page')
            if fill:
                self.an.warn('zero page at %#x of "%s" has fill byte %#x (QEMU 10.2 rejects '
                             'it)' % (addr, name, fill), off)
            info['zero_pages'] += 1
            if pages is not None:
                if fill:
                    pages[addr] = bytes([fill]) * tps
                else:
                    pages.pop(addr, None)
        elif base == k.RAM_SAVE_FLAG_PAGE:
            data = r.take(tps, 'page data (%d bytes)' % tps)
            info['normal_pages'] += 1
            if pages is not None:
                pages[addr] = data
        elif base == k.RAM_SAVE_FLAG_XBZRLE:
            self.xbzrle(r, name, addr, pages)
            info['xbzrle_pages'] += 1
        else:
            self.compressed(r, name, addr, pages)
            info['compressed_pages'] += 1

    def xbzrle(self, r, name, addr, pages):
        tps = self.an.page_size
        foff = r.pos
        enc_flag = r.u8('XBZRLE encoding flag')
        if enc_flag != self.k.ENCODING_FLAG_XBZRLE:
            raise StreamError(foff, 'XBZRLE encoding flag %#x, expected %#x'
                              % (enc_flag, self.k.ENCODING_FLAG_XBZRLE))
        loff = r.pos
        n = r.be16('XBZRLE encoded length')
        if n > tps:
            raise StreamError(loff, 'XBZRLE encoded length %d exceeds the page size %d'
                              % (n, tps))
        doff = r.pos
        enc = r.take(n, 'XBZRLE encoded data')
        cur = bytearray(pages.get(addr, bytes(tps)) if pages is not None else bytes(tps))
        err = xbzrle_apply(enc, cur)
        if err:
            raise StreamError(doff, 'invalid XBZRLE data: ' + err)
        if pages is not None:
            pages[addr] = bytes(cur)

    def compressed(self, r, name, addr, pages):
        tps = self.an.page_size
        loff = r.pos
        n = r.be32('compressed page length')
        if n > compress_bound(tps):
            raise StreamError(loff, 'compressed page length %d exceeds compressBound(%d) = %d'
                              % (n, tps, compress_bound(tps)))
        doff = r.pos
        data = r.take(n, 'compressed page data')
        if zlib is None:
            return
        try:
            d = zlib.decompressobj()
            out = d.decompress(data, tps + 1)
            ok = d.eof and len(out) == tps
        except zlib.error:
            ok = False
        if not ok:
            raise StreamError(doff, 'compressed page is not one zlib stream of %d bytes' % tps)
        if pages is not None:
            pages[addr] = out


# ---------------------------------------------------------------------------
# The stream
# ---------------------------------------------------------------------------
def find_vmdesc(buf, k):
    """Offset of the VMDESCRIPTION type byte, or None.

    The JSON never contains a NUL byte (QEMU escapes every byte below 0x20), so
    the last NUL of the file lies in the 6 bytes "EOF, 0x06, be32 length" just
    before the JSON; the vmdesc is there only if its length reaches exactly the
    end of the file."""
    n = len(buf)
    last = buf.rfind(b'\x00')
    for q in range(max(0, last - 5), last + 1):
        if n - q < 6 or buf[q] != k.QEMU_VM_EOF or buf[q + 1] != k.QEMU_VM_VMDESCRIPTION:
            continue
        if q + 6 + struct.unpack_from('>I', buf, q + 2)[0] == n:
            return q + 1
    return None


class Analyzer:
    def __init__(self, buf, k, keep_contents=False):
        self.buf = buf
        self.k = k
        self.keep_contents = keep_contents
        self.page_size = 4096
        self.capabilities = []
        self.advise_summary = None
        self.footers = None        # unknown until the first section ends
        self.sections_by_id = {}   # section_id -> (idstr, instance_id, version)
        self.warnings = []
        self.out = {}
        self.sections = []
        self.commands = []
        self.devices = {}
        self.vmdesc = None
        self.vmdesc_devices = {}
        self.ram = RamState(self)
        self.vmstate = VMStateDecoder(k, self.warnings)

    def warn(self, msg, off=None):
        self.warnings.append(msg if off is None else 'at %#x: %s' % (off, msg))

    # -- top level ---------------------------------------------------------
    def run(self):
        r = Reader(self.buf)
        self.prescan_vmdesc()
        self.header(r)
        if r.peek_u8() == self.k.QEMU_VM_CONFIGURATION:
            r.pos += 1
            self.out['configuration'] = self.configuration(r)
        self.records(r, None)
        self.after_eof(r)
        self.out['page_size'] = self.page_size
        self.out['sections'] = self.sections
        if self.commands:
            self.out['commands'] = self.commands
        if self.ram.total is not None:
            self.out['ram'] = self.ram.summary()
        self.out['devices'] = self.devices
        if self.warnings:
            self.out['warnings'] = self.warnings
        return self.out

    def prescan_vmdesc(self):
        p = find_vmdesc(self.buf, self.k)
        if p is None:
            return
        raw = bytes(self.buf[p + 5:])
        try:
            desc = json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            raise StreamError(p + 5, 'expected VMDESCRIPTION JSON: %s' % e)
        if not isinstance(desc, dict):
            raise StreamError(p + 5, 'expected a JSON object in the VMDESCRIPTION')
        self.vmdesc = desc
        devs = desc.get('devices', [])
        for d in devs if isinstance(devs, list) else []:
            if isinstance(d, dict) and isinstance(d.get('name'), str) \
                    and isinstance(d.get('instance_id'), int):
                key = (d['name'], d['instance_id'])
                self.vmdesc_devices.setdefault(key, []).append(d)
        ps = desc.get('page_size')
        if isinstance(ps, int) and ps > 0 and ps & (ps - 1) == 0:
            self.page_size = ps

    def header(self, r):
        k = self.k
        magic = r.be32('the file magic QEVM')
        if magic != k.QEMU_VM_FILE_MAGIC:
            raise StreamError(0, 'bad magic %#010x, expected %#010x ("QEVM")'
                              % (magic, k.QEMU_VM_FILE_MAGIC))
        ver = r.be32('the stream version')
        if ver == k.QEMU_VM_FILE_VERSION_COMPAT:
            raise StreamError(4, 'stream version %d is the obsolete SaveVM v2 format, '
                              'expected %d' % (ver, k.QEMU_VM_FILE_VERSION))
        if ver != k.QEMU_VM_FILE_VERSION:
            raise StreamError(4, 'unsupported stream version %d, expected %d'
                              % (ver, k.QEMU_VM_FILE_VERSION))
        self.out['magic'] = 'QEVM'
        self.out['version'] = ver

    def configuration(self, r):
        k = self.k
        off = r.pos
        n = r.be32('length of the machine type name')
        name = r.take(n, 'machine type name').decode('latin-1')
        cfg = {'offset': off - 1, 'name': name}
        while r.peek_u8() == k.QEMU_VM_SUBSECTION:
            soff = r.pos
            r.pos += 1
            sub = r.counted_str('configuration subsection name')
            ver = r.be32('version of subsection "%s"' % sub)
            if sub == 'configuration/target-page-bits':
                bits = r.be32('target page bits')
                if not 10 <= bits <= 30:
                    raise StreamError(r.pos - 4, 'target page bits %d out of range 10..30' % bits)
                cfg['target-page-bits'] = bits
                self.page_size = 1 << bits
            elif sub == 'configuration/capabilities':
                cnt = r.be32('number of capabilities')
                caps = [r.counted_str('capability name') for _ in range(cnt)]
                cfg['capabilities'] = caps
                self.capabilities = caps
            elif sub == 'configuration/uuid':
                u = r.take(16, 'the 16-byte VM UUID').hex()
                cfg['uuid'] = '%s-%s-%s-%s-%s' % (u[:8], u[8:12], u[12:16], u[16:20], u[20:])
            else:
                desc = self.config_subsection_desc(sub)
                if desc is None:
                    raise StreamError(soff, 'unknown configuration subsection "%s" and no '
                                      'vmdesc entry describes it' % sub)
                cfg[sub.split('/', 1)[-1]] = self.decode_desc(r, desc, sub)
            if ver != 1:
                self.warn('configuration subsection "%s" has version %d' % (sub, ver), soff)
        return cfg

    def config_subsection_desc(self, sub):
        conf = (self.vmdesc or {}).get('configuration')
        if not isinstance(conf, dict):
            return None
        for sd in conf.get('subsections', []) or []:
            if isinstance(sd, dict) and sd.get('vmsd_name') == sub:
                return sd
        return None

    def decode_desc(self, r, desc, path):
        try:
            return self.vmstate.vmsd(r, desc, path)
        except DescError as e:
            raise StreamError(r.pos, 'unusable VMDESCRIPTION entry: %s' % e)

    def records(self, r, package):
        """Top-level records until EOF (returns True) or the end of a package."""
        k = self.k
        while True:
            if package is not None and r.pos == r.end:
                return False
            off = r.pos
            t = r.u8('a section type byte')
            if t in (k.QEMU_VM_SECTION_START, k.QEMU_VM_SECTION_FULL):
                self.section_full_or_start(r, t, off, package)
            elif t in (k.QEMU_VM_SECTION_PART, k.QEMU_VM_SECTION_END):
                self.section_part_or_end(r, t, off, package)
            elif t == k.QEMU_VM_COMMAND:
                self.command(r, off, package)
            elif t == k.QEMU_VM_EOF:
                return True
            else:
                raise StreamError(off, 'unknown section type 0x%02x (expected a section, '
                                  'a command or EOF)' % t)

    def after_eof(self, r):
        k = self.k
        if r.pos == r.end:
            self.warn('no VMDESCRIPTION after EOF (postcopy or suppress-vmdesc stream)')
            return
        off = r.pos
        t = r.u8('the VMDESCRIPTION type byte')
        if t != k.QEMU_VM_VMDESCRIPTION:
            raise StreamError(off, 'expected VMDESCRIPTION (0x%02x) after EOF, found 0x%02x'
                              % (k.QEMU_VM_VMDESCRIPTION, t))
        n = r.be32('VMDESCRIPTION length')
        r.need(n, 'VMDESCRIPTION JSON')
        if self.vmdesc is None:
            raise StreamError(off, 'VMDESCRIPTION is not the last thing in the file')
        r.pos += n
        self.out['vmdesc'] = {'offset': off, 'length': n}

    # -- sections ----------------------------------------------------------
    def section_full_or_start(self, r, t, off, package):
        k = self.k
        sid = r.be32('section id')
        idstr = r.counted_str('section idstr')
        inst = r.be32('instance id of "%s"' % idstr)
        ver = r.be32('version id of "%s"' % idstr)
        self.sections_by_id[sid] = (idstr, inst, ver)
        typ = 'START' if t == k.QEMU_VM_SECTION_START else 'FULL'
        entry = {'offset': off, 'type': typ, 'section_id': sid, 'idstr': idstr,
                 'instance_id': inst, 'version': ver}
        if package is not None:
            entry['package'] = package
        if idstr == 'ram':
            self.ram.load(r, ver, off)
        elif t == k.QEMU_VM_SECTION_FULL:
            self.device(r, idstr, inst, ver, off, sid)
        else:
            self.skip_to_footer(r, sid, idstr, off, 'iterative section "%s"' % idstr)
        entry['size'] = r.pos - off
        self.footer(r, sid, idstr)
        self.sections.append(entry)

    def section_part_or_end(self, r, t, off, package):
        k = self.k
        sid = r.be32('section id')
        if sid not in self.sections_by_id:
            raise StreamError(off + 1, 'PART/END for section id %d that no START announced' % sid)
        idstr, inst, ver = self.sections_by_id[sid]
        entry = {'offset': off, 'type': 'PART' if t == k.QEMU_VM_SECTION_PART else 'END',
                 'section_id': sid, 'idstr': idstr}
        if package is not None:
            entry['package'] = package
        if idstr == 'ram':
            self.ram.load(r, ver, off)
        else:
            self.skip_to_footer(r, sid, idstr, off, 'iterative section "%s"' % idstr)
        entry['size'] = r.pos - off
        self.footer(r, sid, idstr)
        self.sections.append(entry)

    def footer(self, r, sid, idstr):
        k = self.k
        off = r.pos
        b = r.peek_u8()
        if self.footers is None:
            self.footers = b == k.QEMU_VM_SECTION_FOOTER
        if not self.footers:
            return
        t = r.u8('section footer of section %d ("%s")' % (sid, idstr))
        if t != k.QEMU_VM_SECTION_FOOTER:
            raise StreamError(off, 'expected section footer 0x%02x after section %d ("%s"), '
                              'found 0x%02x' % (k.QEMU_VM_SECTION_FOOTER, sid, idstr, t))
        fid = r.be32('section id in the footer')
        if fid != sid:
            raise StreamError(off + 1, 'section footer names section %d, expected %d ("%s")'
                              % (fid, sid, idstr))

    def skip_to_footer(self, r, sid, idstr, off, what):
        """Skip a payload nothing describes, up to its footer (best effort)."""
        k = self.k
        if self.footers is False:
            raise StreamError(off, 'cannot decode %s: no description and no section footers'
                              % what)
        pat = bytes([k.QEMU_VM_SECTION_FOOTER]) + struct.pack('>I', sid)
        valid_next = {k.QEMU_VM_EOF, k.QEMU_VM_SECTION_START, k.QEMU_VM_SECTION_PART,
                      k.QEMU_VM_SECTION_END, k.QEMU_VM_SECTION_FULL, k.QEMU_VM_COMMAND}
        p = r.pos
        while True:
            p = self.buf.find(pat, p, r.end)
            if p < 0:
                raise StreamError(off, 'cannot decode %s: no description, and no footer for '
                                  'section %d follows' % (what, sid))
            nxt = p + len(pat)
            if nxt == r.end or self.buf[nxt] in valid_next:
                break
            p += 1
        self.warn('%s (section %d) not decoded: %d bytes skipped to its footer'
                  % (what, sid, p - r.pos), off)
        r.pos = p

    def device(self, r, idstr, inst, ver, off, sid):
        key = '%s (%d)' % (idstr, inst)
        cands = self.vmdesc_devices.get((idstr, inst))
        if not cands:
            start = r.pos
            self.skip_to_footer(r, sid, idstr, off, 'device "%s"' % key)
            self.devices[key] = {'section_id': sid, 'version': ver,
                                 'undecoded_bytes': r.pos - start}
            return
        desc = cands.pop(0)
        if isinstance(desc, dict) and desc.get('version', ver) != ver:
            self.warn('device "%s": vmdesc version %s, section version %d'
                      % (key, desc.get('version'), ver), off)
        dev = {'section_id': sid, 'version': ver}
        if isinstance(desc, dict) and 'vmsd_name' in desc:
            dev['vmsd_name'] = desc['vmsd_name']
        dev['fields'] = self.decode_desc(r, desc, idstr)
        if idstr == 'globalstate':
            rs = dev['fields'].get('runstate')
            if isinstance(rs, str):
                dev['runstate'] = bytes.fromhex(rs).split(b'\0', 1)[0].decode('latin-1')
        self.devices[key] = dev

    # -- commands ----------------------------------------------------------
    def command(self, r, off, package):
        k = self.k
        cmd = r.be16('command number')
        length = r.be16('command length')
        names = {k.MIG_CMD_OPEN_RETURN_PATH: ('OPEN_RETURN_PATH', k.MIG_CMD_OPEN_RETURN_PATH_LEN),
                 k.MIG_CMD_PING: ('PING', k.MIG_CMD_PING_LEN),
                 k.MIG_CMD_POSTCOPY_ADVISE: ('POSTCOPY_ADVISE', None),
                 k.MIG_CMD_POSTCOPY_LISTEN: ('POSTCOPY_LISTEN', k.MIG_CMD_POSTCOPY_LISTEN_LEN),
                 k.MIG_CMD_POSTCOPY_RUN: ('POSTCOPY_RUN', k.MIG_CMD_POSTCOPY_RUN_LEN),
                 k.MIG_CMD_POSTCOPY_RAM_DISCARD: ('POSTCOPY_RAM_DISCARD', None),
                 k.MIG_CMD_PACKAGED: ('PACKAGED', k.MIG_CMD_PACKAGED_LEN),
                 k.MIG_CMD_ENABLE_COLO: ('ENABLE_COLO', k.MIG_CMD_ENABLE_COLO_LEN),
                 k.MIG_CMD_POSTCOPY_RESUME: ('POSTCOPY_RESUME', k.MIG_CMD_POSTCOPY_RESUME_LEN),
                 k.MIG_CMD_RECV_BITMAP: ('RECV_BITMAP', None),
                 k.MIG_CMD_SWITCHOVER_START: ('SWITCHOVER_START', k.MIG_CMD_SWITCHOVER_START_LEN)}
        if cmd == k.MIG_CMD_INVALID or cmd >= k.MIG_CMD_MAX or cmd not in names:
            raise StreamError(off + 1, 'unknown command %d (expected 1..%d)'
                              % (cmd, k.MIG_CMD_MAX - 1))
        name, fixed = names[cmd]
        if fixed is not None and length != fixed:
            raise StreamError(off + 3, 'command %s has length %d, expected %d'
                              % (name, length, fixed))
        r.need(length, 'payload of command %s' % name)
        body = Reader(self.buf, r.pos, r.pos + length)
        r.pos += length
        entry = {'offset': off, 'cmd': name}
        if package is not None:
            entry['package'] = package
        self.commands.append(entry)
        if cmd == k.MIG_CMD_PING:
            entry['value'] = body.be32('PING value')
        elif cmd == k.MIG_CMD_POSTCOPY_ADVISE:
            self.advise(body, length, entry, off)
        elif cmd == k.MIG_CMD_POSTCOPY_RAM_DISCARD:
            self.discard(body, length, entry, off)
        elif cmd == k.MIG_CMD_RECV_BITMAP:
            n = body.u8('ramblock name length')
            if length != n + 1:
                raise StreamError(off + 3, 'RECV_BITMAP length %d, expected %d' % (length, n + 1))
            entry['ramblock'] = body.take(n, 'ramblock name').decode('latin-1')
        elif cmd == k.MIG_CMD_PACKAGED:
            self.packaged(r, body, entry, off)

    def advise(self, body, length, entry, off):
        k = self.k
        if length == k.MIG_CMD_POSTCOPY_ADVISE_LEN_NONE:
            return
        if length != k.MIG_CMD_POSTCOPY_ADVISE_LEN_RAM:
            raise StreamError(off + 3, 'POSTCOPY_ADVISE length %d, expected %d or %d'
                              % (length, k.MIG_CMD_POSTCOPY_ADVISE_LEN_NONE,
                                 k.MIG_CMD_POSTCOPY_ADVISE_LEN_RAM))
        entry['ram_pagesize_summary'] = body.be64('ram page-size summary')
        entry['target_page_size'] = body.be64('target page size')
        self.advise_summary = entry['ram_pagesize_summary']

    def discard(self, body, length, entry, off):
        k = self.k
        if length < k.MIG_CMD_POSTCOPY_RAM_DISCARD_MIN_LEN:
            raise StreamError(off + 3, 'POSTCOPY_RAM_DISCARD length %d, expected at least %d'
                              % (length, k.MIG_CMD_POSTCOPY_RAM_DISCARD_MIN_LEN))
        ver = body.u8('discard version')
        if ver != k.MIG_CMD_POSTCOPY_RAM_DISCARD_VERSION:
            raise StreamError(body.pos - 1, 'discard version %d, expected %d'
                              % (ver, k.MIG_CMD_POSTCOPY_RAM_DISCARD_VERSION))
        name = body.counted_str('ramblock name of the discard')
        nil = body.u8('discard nil terminator')
        if nil != 0:
            raise StreamError(body.pos - 1, 'expected the 0 terminator after the ramblock name')
        if body.remaining() % 16:
            raise StreamError(off + 3, 'discard ranges are %d bytes, not a multiple of 16'
                              % body.remaining())
        ranges = []
        while body.remaining():
            start = body.be64('discard range start')
            ranges.append([start, body.be64('discard range length')])
        entry['ramblock'] = name
        entry['ranges'] = ranges

    def packaged(self, r, body, entry, off):
        n = body.be32('package length')
        entry['length'] = n
        r.need(n, 'PACKAGED stream of %d bytes' % n)
        sub = Reader(self.buf, r.pos, r.pos + n)
        if self.records(sub, off):
            if sub.pos != sub.end:
                raise StreamError(sub.pos, 'EOF inside a PACKAGED stream with %d bytes left'
                                  % (sub.end - sub.pos))
        r.pos += n


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------
def ram_pages_json(ram):
    out = {}
    for name, pages in ram.contents.items():
        out[name] = {'%#x' % a: pages[a].hex() for a in sorted(pages)}
    return out


def safe_file_name(name):
    s = re.sub(r'[^A-Za-z0-9._@-]', '_', name).lstrip('.')
    return s or '_'


def extract(an, state, outdir):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, 'desc.json'), 'w') as f:
        json.dump(an.vmdesc, f, indent=2)
        f.write('\n')
    with open(os.path.join(outdir, 'state.json'), 'w') as f:
        json.dump(state, f, indent=2)
        f.write('\n')
    written = []
    for name, info in an.ram.blocks.items():
        path = os.path.join(outdir, safe_file_name(name))
        pages = an.ram.contents.get(name, {})
        with open(path, 'wb') as f:
            f.truncate(info['used_length'])
            for addr in sorted(pages):
                f.seek(addr)
                f.write(pages[addr])
        written.append(path)
    return written


def printable(text):
    """text with control and non-ASCII characters as \\xNN: one line, always."""
    return ''.join(c if ' ' <= c <= '~' else '\\x%02x' % ord(c) if ord(c) < 256
                   else '\\u%04x' % ord(c) for c in text)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description='Decode a saved migration stream.')
    ap.add_argument('-f', '--file', help='the migration stream to read')
    ap.add_argument('-d', '--dump', choices=('state', 'desc'), default='state',
                    help='print the decoded state (default) or the VMDESCRIPTION JSON')
    ap.add_argument('-m', '--memory', action='store_true',
                    help='include the contents of non-zero RAM pages in the state')
    ap.add_argument('-x', '--extract', action='store_true',
                    help='write desc.json, state.json and one file per RAMBlock')
    ap.add_argument('-o', '--output-dir', default='.', help='directory for -x (default: .)')
    ap.add_argument('--wire-header', default=None,
                    help='wire-constant header (default: ../migration/wire.h next to this script)')
    ap.add_argument('--check-constants', action='store_true',
                    help='compare the built-in constants with the header; exit 1 on a difference')
    ap.add_argument('--debug', action='store_true', help='show a traceback on internal errors')
    args = ap.parse_args(argv)

    header = args.wire_header or default_header_path()
    if args.check_constants:
        return check_constants(header)
    if not args.file:
        ap.error('the following arguments are required: -f/--file')
    table, source = load_constants(header)
    try:
        return analyse(args, K(table), source)
    except StreamError as e:
        print(printable('%s: %s: offset %#x: %s' % (PROG, args.file, e.offset, e.msg)),
              file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as e:
        print(printable('%s: %s: %s' % (PROG, e.filename or args.file, e.strerror or e)),
              file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        if args.debug:
            raise
        print(printable('%s: %s: internal error: %s: %s'
                        % (PROG, args.file, type(e).__name__, e)), file=sys.stderr)
        return 1


def analyse(args, k, source):
    with open(args.file, 'rb') as f:
        buf = f.read()
    an = Analyzer(buf, k, keep_contents=args.memory or args.extract)
    state = an.run()
    state['wire_constants'] = source
    if args.memory:
        state['ram_pages'] = ram_pages_json(an.ram)
    if args.dump == 'desc':
        if an.vmdesc is None:
            raise StreamError(len(buf), 'expected a VMDESCRIPTION at the end of the stream')
        out = an.vmdesc
    else:
        out = state
    if args.extract:
        if an.vmdesc is None:
            raise StreamError(len(buf), 'expected a VMDESCRIPTION at the end of the stream')
        for p in extract(an, state, args.output_dir):
            print('wrote %s' % p, file=sys.stderr)
        return 0
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
