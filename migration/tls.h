/*
 * TLS for migration channels (tls-creds, tls-hostname, tls-authz).
 *
 * A transport hands its connected channel to migration/channel.c, which
 * calls these when tls-creds is set: the channel is wrapped in a
 * QIOChannelTLS and its handshake (plus the certificate, hostname and
 * authz checks) runs in the main loop; @func then gets the TLS channel
 * as the task's source, or the error.  The source is the TLS client,
 * the destination the server.  The return path uses the main channel's
 * session in the other direction.
 *
 * Every further channel (multifd, postcopy preempt) is wrapped the same
 * way with one call: migration_tls_client_start(ioc, hostname, ...) with
 * the hostname the main channel used (migration_tls_hostname()), and
 * migration_tls_server_start() on the destination.  Use @context to run
 * the handshake in a thread's own main context.
 *
 * Main thread (BQL) unless a @context is given.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_TLS_H
#define MIGRATION_TLS_H

#include "io/channel.h"
#include "io/task.h"

/* tls-creds is set. */
bool migrate_tls(void);

/*
 * At migrate / migrate-incoming: refuse what cannot work before anything
 * starts.  @uri's transport must be a socket one (tcp, unix, vsock, or fd
 * which fd.c checks); the credentials must exist for this side's
 * endpoint (@source: client); on the destination tls-authz must name an
 * authz object.  True when TLS is off.
 */
bool migration_tls_check(const char *uri, bool source, Error **errp);

/*
 * The name the source checks in the server certificate: tls-hostname if
 * set, else @uri_host (the host of an inet URI; NULL for unix, fd).
 */
const char *migration_tls_hostname(const char *uri_host);

bool migration_tls_client_start(QIOChannel *ioc, const char *hostname,
                                QIOTaskFunc func, gpointer opaque,
                                GDestroyNotify destroy,
                                GMainContext *context, Error **errp);
bool migration_tls_server_start(QIOChannel *ioc, QIOTaskFunc func,
                                gpointer opaque, GDestroyNotify destroy,
                                GMainContext *context, Error **errp);

/* True if @ioc is a TLS channel already (never wrap twice). */
bool migration_channel_is_tls(QIOChannel *ioc);

#endif
