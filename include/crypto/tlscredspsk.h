/* tls-creds-psk: see crypto/tlscreds.h.  SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CRYPTO_TLSCREDSPSK_H
#define CRYPTO_TLSCREDSPSK_H

#include "crypto/tlscreds.h"

/* Longest key line accepted in keys.psk (username + ':' + hex key). */
#define QCRYPTO_TLS_CREDS_PSK_MAX_LINE 4096

extern const UserObjectClass qcrypto_tls_creds_psk_class;

#endif
