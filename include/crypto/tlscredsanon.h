/* tls-creds-anon: see crypto/tlscreds.h.  SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CRYPTO_TLSCREDSANON_H
#define CRYPTO_TLSCREDSANON_H

#include "crypto/tlscreds.h"

extern const UserObjectClass qcrypto_tls_creds_anon_class;

#endif
