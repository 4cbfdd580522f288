#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generate Godwit's QMP/HMP tables and user docs from the qapi/ schema.

The schema is a sequence of expressions in QEMU's schema syntax (a
Python-like dict per definition, single-quoted strings, '#' comments, doc
blocks between '##' lines).  Definitions:

  { 'include': 'FILE.json' }
  { 'enum': 'Name', 'data': [ 'value', ... ] }
  { 'struct': 'Name', 'data': { 'member': 'type', '*optional': 'type' } }
  { 'command': 'name', 'data': { ... } | 'StructName', 'returns': 'type',
    'allow-oob': true, 'hmp': { 'name', 'args_type', 'params', 'help' } }
  { 'hmp-command': 'name|alias', 'args_type', 'params', 'help' }
  { 'event': 'NAME', 'data': { ... } }

Types: str int int8 int16 int32 int64 uint8 uint16 uint32 uint64 size bool
number any, an enum or struct name, or [ 'type' ] for a list.

Outputs (see docs/devel/qapi.md):
  --c-out DIR      qapi-commands.h and qapi-commands.c
  --doc-out DIR    qmp-commands.md and hmp-commands.md
  --check-docs DIR compare the docs in DIR with the schema; exit 1 if stale
"""
import argparse
import json
import os
import re
import sys

BUILTINS = {
    'str': 'QAPI_KIND_STR', 'int': 'QAPI_KIND_INT64', 'int64': 'QAPI_KIND_INT64',
    'int8': 'QAPI_KIND_INT8', 'int16': 'QAPI_KIND_INT16',
    'int32': 'QAPI_KIND_INT32', 'uint8': 'QAPI_KIND_UINT8',
    'uint16': 'QAPI_KIND_UINT16', 'uint32': 'QAPI_KIND_UINT32',
    'uint64': 'QAPI_KIND_UINT64', 'size': 'QAPI_KIND_SIZE',
    'bool': 'QAPI_KIND_BOOL', 'number': 'QAPI_KIND_NUMBER',
    'any': 'QAPI_KIND_ANY',
}


class SchemaError(Exception):
    pass


def tokenize_expr(text, pos, fname):
    """Convert one schema expression starting at text[pos] to JSON text."""
    out = []
    depth = 0
    i = pos
    n = len(text)
    while i < n:
        c = text[i]
        if c == "'":
            j = i + 1
            s = []
            while j < n and text[j] != "'":
                if text[j] == '\\' and j + 1 < n:
                    j += 1
                s.append(text[j])
                j += 1
            if j >= n:
                raise SchemaError('%s: unterminated string' % fname)
            out.append(json.dumps(''.join(s)))
            i = j + 1
            continue
        if c == '#':
            while i < n and text[i] != '\n':
                i += 1
            continue
        if c in '{[':
            depth += 1
        elif c in '}]':
            depth -= 1
        out.append(c)
        i += 1
        if depth == 0:
            break
    return ''.join(out), i


def parse_file(path, seen, entries):
    path = os.path.normpath(path)
    if path in seen:
        return
    seen.add(path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    i = 0
    n = len(text)
    doc = None
    while i < n:
        c = text[i]
        if c in ' \t\r\n':
            i += 1
            continue
        if text.startswith('##', i) and (i == 0 or text[i - 1] == '\n'):
            # doc block: up to the next line that is exactly '##'
            end = text.find('\n##', i + 2)
            if end < 0:
                raise SchemaError('%s: unterminated doc block' % path)
            block = text[i + 2:end]
            lines = []
            for ln in block.split('\n'):
                ln = ln.rstrip()
                if ln.startswith('# '):
                    lines.append(ln[2:])
                elif ln.startswith('#'):
                    lines.append(ln[1:])
            doc = lines
            i = text.find('\n', end + 1)
            if i < 0:
                i = n
            continue
        if c == '#':
            while i < n and text[i] != '\n':
                i += 1
            continue
        if c != '{':
            raise SchemaError('%s: unexpected %r' % (path, c))
        js, i = tokenize_expr(text, i, path)
        try:
            expr = json.loads(js)
        except ValueError as e:
            raise SchemaError('%s: %s in %s' % (path, e, js))
        if 'include' in expr:
            parse_file(os.path.join(os.path.dirname(path), expr['include']),
                       seen, entries)
        else:
            expr['_doc'] = doc or []
            expr['_file'] = os.path.basename(path)
            entries.append(expr)
        doc = None


def c_name(name):
    return re.sub(r'[^A-Za-z0-9_]', '_', name)


class Schema:
    def __init__(self, path):
        self.entries = []
        parse_file(path, set(), self.entries)
        self.enums = {}
        self.structs = {}
        self.commands = []
        self.events = []
        self.hmp = []
        for e in self.entries:
            if 'enum' in e:
                self.enums[e['enum']] = e
            elif 'struct' in e:
                self.structs[e['struct']] = e
            elif 'command' in e:
                self.commands.append(e)
                h = e.get('hmp')
                if h:
                    for hh in (h if isinstance(h, list) else [h]):
                        hh = dict(hh)
                        hh['_doc'] = e['_doc']
                        hh['_qmp'] = e['command']
                        hh['_file'] = e['_file']
                        self.hmp.append(hh)
            elif 'event' in e:
                self.events.append(e)
            elif 'hmp-command' in e:
                hh = dict(e)
                hh['name'] = e['hmp-command']
                self.hmp.append(hh)
            else:
                raise SchemaError('unknown definition %r' % e)
        self.check()

    def check(self):
        names = set()
        for c in self.commands:
            if c['command'] in names:
                raise SchemaError('duplicate command %s' % c['command'])
            names.add(c['command'])
            self.members(c.get('data'), 'command ' + c['command'])
            if 'returns' in c:
                self.check_type(c['returns'], 'command ' + c['command'])
        for s in self.structs.values():
            self.members(s.get('data'), 'struct ' + s['struct'])
        for ev in self.events:
            self.members(ev.get('data'), 'event ' + ev['event'])
        hnames = set()
        for h in self.hmp:
            for k in ('name', 'args_type', 'params', 'help'):
                if k not in h:
                    raise SchemaError('HMP command %s lacks %s' % (h.get('name'), k))
            if h['name'] in hnames:
                raise SchemaError('duplicate HMP command %s' % h['name'])
            hnames.add(h['name'])

    def check_type(self, t, where):
        if isinstance(t, list):
            if len(t) != 1:
                raise SchemaError('%s: list type needs one element type' % where)
            return self.check_type(t[0], where)
        if t in BUILTINS or t in self.enums or t in self.structs:
            return
        raise SchemaError('%s: unknown type %s' % (where, t))

    def members(self, data, where):
        """[(name, type, optional)] of a 'data' member dict or struct name."""
        if data is None:
            return []
        if isinstance(data, str):
            if data not in self.structs:
                raise SchemaError('%s: unknown struct %s' % (where, data))
            return self.members(self.structs[data].get('data'), where)
        res = []
        for k, t in data.items():
            opt = k.startswith('*')
            name = k[1:] if opt else k
            self.check_type(t, where)
            res.append((name, t, opt))
        return res


def hmp_handler(h):
    if 'handler' in h:
        return h['handler']
    return 'hmp_' + c_name(h['name'].split('|')[0])


def qmp_handler(c):
    return 'qmp_' + c_name(c['command'])


def type_ref(t, lists):
    """C expression (address of a QapiType) for schema type @t."""
    if isinstance(t, list):
        inner = type_ref(t[0], lists)
        lname = 'qapi_type_list_' + c_name(t[0] if isinstance(t[0], str) else 'x')
        lists[lname] = inner
        return '&' + lname
    if t in BUILTINS:
        return '&qapi_type_' + t
    return '&qapi_type_' + c_name(t)


def gen_c(schema, outdir):
    h = ['/* Generated by scripts/qapi-gen.py from the qapi/ schema; do not edit. */',
         '#ifndef QAPI_QAPI_COMMANDS_H', '#define QAPI_QAPI_COMMANDS_H', '',
         '#include "qapi/qmp-dispatch.h"', '#include "monitor/hmp.h"', '']
    for name in sorted(schema.enums):
        h.append('extern const QapiType qapi_type_%s;' % c_name(name))
    for name in sorted(schema.structs):
        h.append('extern const QapiType qapi_type_%s;' % c_name(name))
    h.append('')
    h.append('/* QMP handlers: one per schema command, in the subsystem that owns it. */')
    for cmd in schema.commands:
        h.append('JsonNode *%s(JsonObject *args, Error **errp);' % qmp_handler(cmd))
    h.append('')
    h.append('/* HMP handlers. */')
    for hc in schema.hmp:
        h.append('void %s(Monitor *mon, JsonObject *args);' % hmp_handler(hc))
    h.append('')
    h.append('extern const QmpCommandList qmp_commands;')
    h.append('/* Top-level HMP commands, then the "info" subcommands; NULL-name terminated. */')
    h.append('extern const HmpCommand hmp_cmds[];')
    h.append('extern const HmpCommand hmp_info_cmds[];')
    h.append('/* Every event the schema declares, NULL-terminated. */')
    h.append('extern const char *const qapi_event_names[];')
    h.append('')
    h.append('#endif')

    c = ['/* Generated by scripts/qapi-gen.py from the qapi/ schema; do not edit. */',
         '#include "qemu/osdep.h"', '#include "qapi/qapi-commands.h"', '']
    lists = {}
    body = []
    for name in sorted(schema.enums):
        e = schema.enums[name]
        cn = c_name(name)
        vals = ', '.join('"%s"' % v for v in e['data'])
        body.append('static const char *const qapi_enum_values_%s[] = { %s, NULL };'
                    % (cn, vals))
        body.append('const QapiType qapi_type_%s = {' % cn)
        body.append('    .kind = QAPI_KIND_ENUM, .name = "%s",' % name)
        body.append('    .enum_values = qapi_enum_values_%s,' % cn)
        body.append('};')
        body.append('')

    def members_array(arrname, members):
        if not members:
            return 'NULL', 0
        body.append('static const QapiMember %s[] = {' % arrname)
        for (mname, mt, opt) in members:
            body.append('    { "%s", %s, %s },' % (mname, type_ref(mt, lists),
                                                   'true' if opt else 'false'))
        body.append('};')
        return arrname, len(members)

    for name in sorted(schema.structs):
        cn = c_name(name)
        arr, nm = members_array('qapi_members_%s' % cn,
                                schema.members(schema.structs[name]['data'], name))
        body.append('const QapiType qapi_type_%s = {' % cn)
        body.append('    .kind = QAPI_KIND_STRUCT, .name = "%s",' % name)
        body.append('    .members = %s, .n_members = %d,' % (arr, nm))
        body.append('};')
        body.append('')
    cmds = []
    for cmd in sorted(schema.commands, key=lambda x: x['command']):
        arr, nm = members_array('qmp_args_%s' % c_name(cmd['command']),
                                schema.members(cmd.get('data'), cmd['command']))
        cmds.append('    { "%s", %s, %s, %d, %s },'
                    % (cmd['command'], qmp_handler(cmd), arr, nm,
                       'true' if cmd.get('allow-oob') else 'false'))
    for lname, inner in sorted(lists.items()):
        c.append('static const QapiType %s = {' % lname)
        c.append('    .kind = QAPI_KIND_LIST, .name = "list", .elem = %s,' % inner)
        c.append('};')
    c.append('')
    c.extend(body)
    c.append('static const QmpCommand qmp_command_array[] = {')
    c.extend(cmds)
    c.append('};')
    c.append('')
    c.append('const QmpCommandList qmp_commands = {')
    c.append('    .cmds = qmp_command_array, .n_cmds = ARRAY_SIZE(qmp_command_array),')
    c.append('};')
    c.append('')

    def hmp_row(hc, name):
        return ('    { "%s", "%s", %s, %s, %s },'
                % (name, hc['args_type'], json.dumps(hc['params']),
                   json.dumps(hc['help']), hmp_handler(hc)))

    c.append('const HmpCommand hmp_cmds[] = {')
    for hc in sorted(schema.hmp, key=lambda x: x['name']):
        if not hc['name'].startswith('info '):
            c.append(hmp_row(hc, hc['name']))
    c.append('    { NULL },')
    c.append('};')
    c.append('')
    c.append('const HmpCommand hmp_info_cmds[] = {')
    for hc in sorted(schema.hmp, key=lambda x: x['name']):
        if hc['name'].startswith('info '):
            c.append(hmp_row(hc, hc['name'][5:]))
    c.append('    { NULL },')
    c.append('};')
    c.append('')
    c.append('const char *const qapi_event_names[] = {')
    for ev in schema.events:
        c.append('    "%s",' % ev['event'])
    c.append('    NULL,')
    c.append('};')
    files = {'qapi-commands.h': '\n'.join(h) + '\n',
             'qapi-commands.c': '\n'.join(c) + '\n'}
    for fn, text in files.items():
        write_if_changed(os.path.join(outdir, fn), text)


def write_if_changed(path, text):
    try:
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def type_str(t):
    if isinstance(t, list):
        return '[%s]' % type_str(t[0])
    return t


def doc_body(lines):
    """Drop the '@name:' title line of a doc block; keep the rest."""
    out = list(lines)
    if out and re.match(r'^@[^:]+:\s*$', out[0]):
        out = out[1:]
    while out and not out[0].strip():
        out = out[1:]
    while out and not out[-1].strip():
        out = out[:-1]
    return out


def member_docs(lines):
    """Split doc lines into (text, {member: description})."""
    text = []
    mem = {}
    cur = None
    for ln in lines:
        m = re.match(r'^@([A-Za-z0-9_-]+):\s*(.*)$', ln)
        if m:
            cur = m.group(1)
            mem[cur] = m.group(2)
        elif cur and ln.startswith(' ') and ln.strip():
            mem[cur] += ' ' + ln.strip()
        else:
            cur = None
            text.append(ln)
    while text and not text[-1].strip():
        text.pop()
    return text, mem


def gen_qmp_doc(schema):
    out = ['# QMP commands and events', '',
           'Generated by `scripts/qapi-gen.py` from `the qapi/ schema`; do not edit.',
           'Godwit follows QEMU 7.2\'s QMP protocol: a greeting, `qmp_capabilities`,',
           'then `{"execute": NAME, "arguments": {...}, "id": ANY}` per command.', '']
    out.append('## Commands')
    out.append('')
    for cmd in sorted(schema.commands, key=lambda x: x['command']):
        text, mem = member_docs(doc_body(cmd['_doc']))
        out.append('### `%s`' % cmd['command'])
        out.append('')
        out.extend(text)
        out.append('')
        members = schema.members(cmd.get('data'), cmd['command'])
        if members:
            out.append('| argument | type | optional | description |')
            out.append('| --- | --- | --- | --- |')
            for (n, t, opt) in members:
                out.append('| `%s` | %s | %s | %s |' % (n, type_str(t),
                                                       'yes' if opt else 'no',
                                                       mem.get(n, '')))
            out.append('')
        out.append('Returns: %s' % (type_str(cmd['returns']) if 'returns' in cmd
                                    else 'nothing (`{}`)'))
        out.append('')
        if cmd.get('allow-oob'):
            out.append('May be run out-of-band (`exec-oob`).')
            out.append('')
        h = cmd.get('hmp')
        if h:
            for hh in (h if isinstance(h, list) else [h]):
                out.append('HMP: `%s %s`' % (hh['name'], hh['params']) if hh['params']
                           else 'HMP: `%s`' % hh['name'])
                out.append('')
    out.append('## Events')
    out.append('')
    for ev in schema.events:
        text, mem = member_docs(doc_body(ev['_doc']))
        out.append('### `%s`' % ev['event'])
        out.append('')
        out.extend(text)
        out.append('')
        members = schema.members(ev.get('data'), ev['event'])
        if members:
            out.append('| data member | type | description |')
            out.append('| --- | --- | --- |')
            for (n, t, opt) in members:
                out.append('| `%s` | %s | %s |' % (n, type_str(t), mem.get(n, '')))
            out.append('')
    out.append('## Types')
    out.append('')
    for name in sorted(schema.enums):
        e = schema.enums[name]
        out.append('### enum `%s`' % name)
        out.append('')
        out.append(', '.join('`%s`' % v for v in e['data']))
        out.append('')
    for name in sorted(schema.structs):
        s = schema.structs[name]
        text, mem = member_docs(doc_body(s['_doc']))
        out.append('### struct `%s`' % name)
        out.append('')
        if any(t.strip() for t in text):
            out.extend(text)
            out.append('')
        out.append('| member | type | optional | description |')
        out.append('| --- | --- | --- | --- |')
        for (n, t, opt) in schema.members(s['data'], name):
            out.append('| `%s` | %s | %s | %s |' % (n, type_str(t), 'yes' if opt else 'no',
                                                   mem.get(n, '')))
        out.append('')
    return '\n'.join(out).rstrip('\n') + '\n'


def gen_hmp_doc(schema):
    out = ['# HMP commands', '',
           'Generated by `scripts/qapi-gen.py` from `the qapi/ schema`; do not edit.',
           'The human monitor (`-monitor`, `-mon mode=readline`, or QMP',
           '`human-monitor-command`) prints the prompt `(qemu) `.', '']
    for hc in sorted(schema.hmp, key=lambda x: x['name']):
        text, _ = member_docs(doc_body(hc['_doc']))
        sig = hc['name'] + (' ' + hc['params'] if hc['params'] else '')
        out.append('## `%s`' % sig)
        out.append('')
        out.append(hc['help'])
        out.append('')
        if text and any(t.strip() for t in text):
            out.extend(text)
            out.append('')
        if '_qmp' in hc:
            out.append('QMP: `%s`' % hc['_qmp'])
            out.append('')
    return '\n'.join(out).rstrip('\n') + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('schema')
    ap.add_argument('--c-out')
    ap.add_argument('--doc-out')
    ap.add_argument('--check-docs')
    args = ap.parse_args()
    try:
        schema = Schema(args.schema)
    except SchemaError as e:
        sys.exit('qapi-gen: %s' % e)
    if args.c_out:
        gen_c(schema, args.c_out)
    docs = {'qmp-commands.md': gen_qmp_doc(schema),
            'hmp-commands.md': gen_hmp_doc(schema)}
    if args.doc_out:
        for fn, text in docs.items():
            write_if_changed(os.path.join(args.doc_out, fn), text)
    if args.check_docs:
        stale = []
        for fn, text in docs.items():
            try:
                with open(os.path.join(args.check_docs, fn), encoding='utf-8') as f:
                    if f.read() != text:
                        stale.append(fn)
            except OSError:
                stale.append(fn)
        if stale:
            sys.exit('qapi-gen: %s out of date; run scripts/qapi-gen.py '
                     'qapi/qapi-schema.json --doc-out docs/user'
                     % ', '.join(stale))


if __name__ == '__main__':
    main()
