/*
 * authz-simple,id=ID,identity=NAME: allows exactly one identity (string
 * equality).  On the command line a comma in NAME is written ",,".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AUTHZ_SIMPLE_H
#define AUTHZ_SIMPLE_H

#include "authz/base.h"

extern const UserObjectClass qauthz_simple_class;

#endif
