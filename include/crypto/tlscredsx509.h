/* tls-creds-x509: see crypto/tlscreds.h.  SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CRYPTO_TLSCREDSX509_H
#define CRYPTO_TLSCREDSX509_H

#include "crypto/tlscreds.h"

extern const UserObjectClass qcrypto_tls_creds_x509_class;

#endif
