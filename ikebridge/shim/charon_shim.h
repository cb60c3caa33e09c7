/*
 * The C ABI between ikebridged (C++) and the embedded libcharon.
 *
 * strongSwan's headers are C that does not compile as C++, so this file is
 * the only door: it names no strongSwan type. Everything here is called from
 * one thread (the daemon's main thread); callbacks arrive on charon's threads.
 */
#ifndef NEMOKEY_IKEBRIDGE_SHIM_CHARON_SHIM_H
#define NEMOKEY_IKEBRIDGE_SHIM_CHARON_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One log line from charon's bus: subsystem as strongSwan names it ("ike",
 * "knl", "cfg", ...), level 0..4, the formatted text. */
typedef void (*nk_charon_log_fn)(void *ctx, const char *subsystem, int level, const char *line);

/* An event seen by our own bus listener. */
enum nk_charon_event_kind {
    NK_CHARON_IKE_UP,
    NK_CHARON_IKE_DOWN,
    NK_CHARON_CHILD_UP,
    NK_CHARON_CHILD_DOWN,
    NK_CHARON_IKE_ENDPOINT_UPDATE,
};
struct nk_charon_event {
    enum nk_charon_event_kind kind;
    const char *ike_name;   /* connection name */
    unsigned ike_unique_id;
    const char *child_name; /* NULL for IKE events */
    const char *detail;     /* e.g. "local 2001:db8::1[500] remote ..." */
};
typedef void (*nk_charon_event_fn)(void *ctx, const struct nk_charon_event *event);

struct nk_charon_config {
    const char *settings_namespace; /* strongswan.conf section, e.g. "ikebridged" */
    const char *plugins;            /* explicit, space separated; load_modular is off */
    const char *vici_uri;           /* "unix:///run/ikebridged.vici" */
    int ike_port;                   /* -1: strongSwan's default (500), 0: random */
    int ike_port_nat_t;             /* -1: default (4500), 0: random */
    int log_level;                  /* charon's default level for every subsystem, -1..4 */
    nk_charon_log_fn log;
    void *log_ctx;
    nk_charon_event_fn event;
    void *event_ctx;
};

/* Starts the embedded charon. Returns 0, or -1 with a message in err. */
int nk_charon_start(const struct nk_charon_config *config, char *err, size_t err_len);

/* Number of plugins loaded, and their names (space separated) into buf. */
int nk_charon_loaded_plugins(char *buf, size_t buf_len);

/* Stops charon and releases libcharon and libstrongswan. Idempotent. */
void nk_charon_stop(void);

#ifdef __cplusplus
}
#endif

#endif
