/*
 * authz-list: an ordered list of rules and a default policy, as QEMU's.
 *
 *   -object authz-list,id=ID,policy=deny|allow,
 *           rules.0.match=PATTERN,rules.0.policy=allow|deny,
 *           rules.0.format=exact|glob, rules.1.match=...
 *   -object '{"qom-type":"authz-list","id":"ID","policy":"deny",
 *             "rules":[{"match":"CN=*","policy":"allow","format":"glob"}]}'
 *   (QMP object-add takes the JSON form's members)
 *
 * The first rule whose pattern matches decides; no match gives the
 * default policy (deny when not given).  format=exact (the default)
 * compares strings, format=glob is shell-style '*' and '?'.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AUTHZ_LIST_H
#define AUTHZ_LIST_H

#include "authz/base.h"

/* The most rules an authz-list accepts (rules.0 .. rules.1023). */
#define QAUTHZ_LIST_MAX_RULES 1024

extern const UserObjectClass qauthz_list_class;

#endif
