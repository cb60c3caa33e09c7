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
    NK_CHARON_MESSAGE,      /* an IKE request or response, sent or received */
    NK_CHARON_IKE_REKEY,    /* the IKE SA was rekeyed: ike_unique_id is the new one */
};
struct nk_charon_event {
    enum nk_charon_event_kind kind;
    const char *ike_name;   /* connection name */
    unsigned ike_unique_id;
    const char *child_name; /* NULL for IKE events */
    const char *detail;     /* e.g. "local 2001:db8::1[500] remote ..." */
    unsigned child_reqid;   /* CHILD events: the request id of the CHILD_SA */
    unsigned child_unique_id; /* CHILD events: this CHILD_SA (a rekeyed one gets a new id) */
    const char *peer_id;    /* IKE events: the peer's identity ("fqdn:...", "email:...") */
    const char *local_host; /* IKE events: the IKE SA's addresses, without port */
    const char *remote_host;
    int exchange_type;      /* MESSAGE: RFC 7296 sec. 3.1 (34 IKE_SA_INIT ... 37 INFORMATIONAL) */
    int incoming;           /* MESSAGE: 1 received, 0 sent */
    int request;            /* MESSAGE: 1 request, 0 response */
    unsigned ike_old_unique_id; /* IKE_REKEY: the IKE SA it replaces (no IKE_DOWN follows for it) */
};
typedef void (*nk_charon_event_fn)(void *ctx, const struct nk_charon_event *event);

/* One traffic selector (RFC 7296 sec. 3.13.1), addresses in network order. */
struct nk_charon_ts {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char from[16];
    unsigned char to[16];
    int protocol;               /* 0: any */
    unsigned from_port, to_port;
};

/* The home agent's question before a CHILD_SA is installed: may the peer
 * (its authenticated identity and certificate) use these remote traffic
 * selectors (home address, mobile network prefixes)? RFC 4877 sec. 4.1. */
struct nk_charon_authorization {
    const char *ike_name;
    const char *child_name;
    const char *peer_id;
    const unsigned char *peer_certificate_der;  /* NULL when none */
    size_t peer_certificate_len;
    const struct nk_charon_ts *remote_ts;
    size_t remote_ts_count;
};
/* Returns 1 to allow; 0 refuses (the CHILD_SA fails with TS_UNACCEPTABLE)
 * and puts one sentence into why. Called on charon's threads. */
typedef int (*nk_charon_authorize_fn)(void *ctx, const struct nk_charon_authorization *request, char *why,
                                      size_t why_len);

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
    nk_charon_authorize_fn authorize; /* NULL: no check of our own (responder only) */
    void *authorize_ctx;
};

/* Starts the embedded charon. Returns 0, or -1 with a message in err. */
int nk_charon_start(const struct nk_charon_config *config, char *err, size_t err_len);

/* Number of plugins loaded, and their names (space separated) into buf. */
int nk_charon_loaded_plugins(char *buf, size_t buf_len);

/* Stops charon and releases libcharon and libstrongswan. Idempotent. */
void nk_charon_stop(void);

/* An XFRM MIGRATE with KMADDRESS (local, remote: 16 bytes for AF_INET6, 4
 * for AF_INET, network order) was seen for the CHILD_SA with `reqid`: once
 * charon's IKE SA holding it is at that pair, an NK_CHARON_IKE_ENDPOINT_UPDATE
 * event follows (checked on charon's scheduler for at most 2 s). 0 when
 * queued, -1 when charon is not running or the arguments are bad. */
int nk_charon_watch_endpoints(unsigned reqid, int family, const unsigned char *local, const unsigned char *remote);

#ifdef __cplusplus
}
#endif

#endif
