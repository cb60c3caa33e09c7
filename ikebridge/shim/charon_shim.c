/*
 * Embeds libcharon the way charon-systemd does: library_init, libcharon_init,
 * our logger and listener on the bus, charon->initialize with an explicit
 * plugin list, charon->start. Settings live under our own namespace with
 * load_modular off, so the stock strongswan.conf cannot load other plugins,
 * read /etc/ipsec.secrets or bind ports we did not ask for.
 */
#include "ikebridge/shim/charon_shim.h"

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <library.h>
#include <daemon.h>
#include <bus/listeners/listener.h>
#include <bus/listeners/logger.h>
#include <credentials/auth_cfg.h>
#include <encoding/message.h>
#include <processing/jobs/callback_job.h>

typedef struct {
    logger_t public;
    int level;
    nk_charon_log_fn fn;
    void *ctx;
} shim_logger_t;

typedef struct {
    listener_t public;
    nk_charon_event_fn fn;
    void *ctx;
    nk_charon_authorize_fn authorize;
    void *authorize_ctx;
} shim_listener_t;

static shim_logger_t shim_logger;
static shim_listener_t shim_listener;
static bool running;
static bool library_up;

static void logger_log(logger_t *this, debug_t group, level_t level, int thread, ike_sa_t *ike_sa,
                       const char *message)
{
    shim_logger_t *logger = (shim_logger_t *)this;
    const char *subsystem = enum_to_name(debug_lower_names, group);

    (void)thread;
    (void)ike_sa;
    logger->fn(logger->ctx, subsystem ? subsystem : "?", (int)level, message);
}

static level_t logger_get_level(logger_t *this, debug_t group)
{
    (void)group;
    return ((shim_logger_t *)this)->level;
}

/* The printf hooks (%H, %Y) trip -Wformat, so addresses and identities
 * are formatted here. */
static void format_host(host_t *host, char *buf, size_t len)
{
    chunk_t address;

    snprintf(buf, len, "%%any");
    if (host && !host->is_anyaddr(host))
    {
        address = host->get_address(host);
        inet_ntop(host->get_family(host), address.ptr, buf, len);
    }
}

static void format_identity(identification_t *id, char *buf, size_t len)
{
    chunk_t e;
    size_t i, n;

    snprintf(buf, len, "%%any");
    if (!id)
    {
        return;
    }
    e = id->get_encoding(id);
    switch (id->get_type(id))
    {
        case ID_FQDN:
            snprintf(buf, len, "fqdn:%.*s", (int)e.len, e.ptr);
            break;
        case ID_RFC822_ADDR:
            snprintf(buf, len, "email:%.*s", (int)e.len, e.ptr);
            break;
        default:
            /* DN and others: the type and the encoding in hex */
            n = (size_t)snprintf(buf, len, "id%d:", (int)id->get_type(id));
            for (i = 0; i < e.len && n + 3 < len; i++)
            {
                n += (size_t)snprintf(buf + n, len - n, "%02x", e.ptr[i]);
            }
            break;
    }
}

static void emit_event(struct nk_charon_event *event, ike_sa_t *ike_sa, child_sa_t *child_sa)
{
    char peer[256], l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

    event->ike_name = ike_sa ? ike_sa->get_name(ike_sa) : "";
    event->ike_unique_id = ike_sa ? ike_sa->get_unique_id(ike_sa) : 0;
    if (child_sa)
    {
        event->child_name = child_sa->get_name(child_sa);
        event->child_reqid = child_sa->get_reqid(child_sa);
        event->child_unique_id = child_sa->get_unique_id(child_sa);
    }
    if (ike_sa)
    {
        format_identity(ike_sa->get_other_id(ike_sa), peer, sizeof(peer));
        format_host(ike_sa->get_my_host(ike_sa), l, sizeof(l));
        format_host(ike_sa->get_other_host(ike_sa), r, sizeof(r));
        event->peer_id = peer;
        if (!event->local_host)
        {
            event->local_host = l;
            event->remote_host = r;
        }
    }
    if (shim_listener.fn)
    {
        shim_listener.fn(shim_listener.ctx, event);
    }
}

static void emit(enum nk_charon_event_kind kind, ike_sa_t *ike_sa, child_sa_t *child_sa,
                 const char *detail)
{
    struct nk_charon_event event = {
        .kind = kind,
        .detail = detail,
    };
    emit_event(&event, ike_sa, child_sa);
}

static bool listener_ike_updown(listener_t *this, ike_sa_t *ike_sa, bool up)
{
    (void)this;
    emit(up ? NK_CHARON_IKE_UP : NK_CHARON_IKE_DOWN, ike_sa, NULL, NULL);
    return TRUE;
}

static bool listener_child_updown(listener_t *this, ike_sa_t *ike_sa, child_sa_t *child_sa, bool up)
{
    (void)this;
    emit(up ? NK_CHARON_CHILD_UP : NK_CHARON_CHILD_DOWN, ike_sa, child_sa, NULL);
    return TRUE;
}

/* RFC 7296 sec. 2.18: the new IKE SA takes the CHILD_SAs over; charon
 * reports neither IKE_SA going down nor the new one coming up. */
static bool listener_ike_rekey(listener_t *this, ike_sa_t *old, ike_sa_t *new)
{
    struct nk_charon_event event = {
        .kind = NK_CHARON_IKE_REKEY,
    };

    (void)this;
    event.ike_old_unique_id = old->get_unique_id(old);
    emit_event(&event, new, NULL);
    return TRUE;
}

/* A rekeyed CHILD_SA keeps its reqid: report the new one as up, so the
 * C++ side tracks its unique state, and the old one as down. */
static bool listener_child_rekey(listener_t *this, ike_sa_t *ike_sa, child_sa_t *old, child_sa_t *new)
{
    (void)this;
    emit(NK_CHARON_CHILD_UP, ike_sa, new, "rekeyed");
    emit(NK_CHARON_CHILD_DOWN, ike_sa, old, "rekeyed");
    return TRUE;
}

static bool listener_message(listener_t *this, ike_sa_t *ike_sa, message_t *message, bool incoming,
                             bool plain)
{
    struct nk_charon_event event = {
        .kind = NK_CHARON_MESSAGE,
    };

    (void)this;
    /* Each message is seen twice (encrypted and plain); count it once. */
    if (!plain)
    {
        return TRUE;
    }
    event.exchange_type = (int)message->get_exchange_type(message);
    event.incoming = incoming ? 1 : 0;
    event.request = message->get_request(message) ? 1 : 0;
    emit_event(&event, ike_sa, NULL);
    return TRUE;
}

static bool listener_ike_update(listener_t *this, ike_sa_t *ike_sa, host_t *local, host_t *remote)
{
    char detail[160], l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
    struct nk_charon_event event = {
        .kind = NK_CHARON_IKE_ENDPOINT_UPDATE,
    };

    (void)this;
    format_host(local, l, sizeof(l));
    format_host(remote, r, sizeof(r));
    snprintf(detail, sizeof(detail), "local %s[%u] remote %s[%u]", l, local ? local->get_port(local) : 0,
             r, remote ? remote->get_port(remote) : 0);
    event.detail = detail;
    /* ike_update runs before the hosts change: report the new ones */
    event.local_host = l;
    event.remote_host = r;
    emit_event(&event, ike_sa, NULL);
    return TRUE;
}

/* RFC 4877 sec. 4.4 (K flag): an XFRM MIGRATE carrying KMADDRESS makes
 * charon's kernel interface queue a migrate_job, which re-targets the IKE
 * SA of the CHILD_SA with that reqid to the KMADDRESS pair without telling
 * the bus (no ike_update). ikebridged hears the same MIGRATE on its own
 * XFRM socket and calls nk_charon_watch_endpoints(); a job of ours checks
 * that the IKE SA is at the new addresses and reports an endpoint update.
 * (Not a kernel listener of our own: charon's kernel interface hands the
 * event's hosts to the migrate_job, which frees them whenever it is done,
 * so a second listener would read freed memory.) The jobs are unordered,
 * so ours retries on charon's scheduler (never on our event loop) until the
 * migrate_job ran. */
struct moved_check {
    uint32_t reqid;
    host_t *local;
    host_t *remote;
    int tries;
};

static void moved_check_destroy(struct moved_check *check)
{
    check->local->destroy(check->local);
    check->remote->destroy(check->remote);
    free(check);
}

static job_requeue_t moved_check_run(struct moved_check *check)
{
    enumerator_t *ike_sas, *children;
    ike_sa_t *ike_sa;
    child_sa_t *child_sa;
    bool found = FALSE, moved = FALSE;

    ike_sas = charon->ike_sa_manager->create_enumerator(charon->ike_sa_manager, TRUE);
    while (!found && ike_sas->enumerate(ike_sas, &ike_sa))
    {
        children = ike_sa->create_child_sa_enumerator(ike_sa);
        while (children->enumerate(children, &child_sa))
        {
            if (child_sa->get_reqid(child_sa) == check->reqid)
            {
                found = TRUE;
                break;
            }
        }
        children->destroy(children);
        if (found && ike_sa->get_my_host(ike_sa)->ip_equals(ike_sa->get_my_host(ike_sa), check->local) &&
            ike_sa->get_other_host(ike_sa)->ip_equals(ike_sa->get_other_host(ike_sa), check->remote))
        {
            struct nk_charon_event event = {
                .kind = NK_CHARON_IKE_ENDPOINT_UPDATE,
                .detail = "kernel migrate (KMADDRESS)",
            };
            moved = TRUE;
            emit_event(&event, ike_sa, NULL);
        }
    }
    ike_sas->destroy(ike_sas);
    /* no IKE SA holds the reqid (static policy, IKE SA gone): nothing to say */
    if (!found || moved || ++check->tries >= 200)
    {
        return JOB_REQUEUE_NONE;
    }
    return JOB_RESCHEDULE_MS(10);
}

int nk_charon_watch_endpoints(unsigned reqid, int family, const unsigned char *local, const unsigned char *remote)
{
    struct moved_check *check;
    size_t len = family == AF_INET6 ? 16 : 4;

    if (!running || (family != AF_INET6 && family != AF_INET))
    {
        return -1;
    }
    check = calloc(1, sizeof(*check));
    if (!check)
    {
        return -1;
    }
    check->reqid = reqid;
    check->local = host_create_from_chunk(family, chunk_create((u_char *)local, len), 0);
    check->remote = host_create_from_chunk(family, chunk_create((u_char *)remote, len), 0);
    if (!check->local || !check->remote)
    {
        DESTROY_IF(check->local);
        DESTROY_IF(check->remote);
        free(check);
        return -1;
    }
    lib->processor->queue_job(lib->processor,
                              (job_t *)callback_job_create((callback_job_cb_t)moved_check_run, check,
                                                           (callback_job_cleanup_t)moved_check_destroy, NULL));
    return 0;
}

/* Fills one nk_charon_ts; FALSE for a selector type we do not know. */
static bool to_nk_ts(traffic_selector_t *ts, struct nk_charon_ts *out)
{
    chunk_t from = ts->get_from_address(ts), to = ts->get_to_address(ts);

    memset(out, 0, sizeof(*out));
    out->family = ts->get_type(ts) == TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;
    if ((ts->get_type(ts) != TS_IPV6_ADDR_RANGE && ts->get_type(ts) != TS_IPV4_ADDR_RANGE) ||
        from.len > 16 || to.len > 16 || from.len != to.len)
    {
        return FALSE;
    }
    memcpy(out->from, from.ptr, from.len);
    memcpy(out->to, to.ptr, to.len);
    out->protocol = ts->get_protocol(ts);
    out->from_port = ts->get_from_port(ts);
    out->to_port = ts->get_to_port(ts);
    return TRUE;
}

static void refuse_all(linked_list_t *list)
{
    traffic_selector_t *ts;

    while (list->remove_last(list, (void **)&ts) == SUCCESS)
    {
        ts->destroy(ts);
    }
}

/* RFC 4877 sec. 4.1: the responder (home agent) checks that the peer may
 * use the home address and prefixes it asks for, after strongSwan's own
 * narrowing (configuration, addrblock). Emptying both lists makes the
 * CHILD_SA fail with TS_UNACCEPTABLE; nothing is installed. */
static bool listener_narrow(listener_t *this, ike_sa_t *ike_sa, child_sa_t *child_sa, narrow_hook_t type,
                            linked_list_t *local, linked_list_t *remote)
{
    shim_listener_t *listener = (shim_listener_t *)this;
    struct nk_charon_authorization request = { 0 };
    struct nk_charon_ts selectors[32];
    char peer[256], why[256] = "";
    enumerator_t *enumerator, *auths;
    traffic_selector_t *ts;
    auth_cfg_t *auth;
    certificate_t *cert = NULL;
    chunk_t der = chunk_empty;
    size_t count = 0;
    bool ok = TRUE;

    if (type != NARROW_RESPONDER || !listener->authorize)
    {
        return TRUE;
    }
    enumerator = remote->create_enumerator(remote);
    while (enumerator->enumerate(enumerator, &ts))
    {
        if (count == countof(selectors) || !to_nk_ts(ts, &selectors[count]))
        {
            ok = FALSE;
            snprintf(why, sizeof(why), "too many or unknown traffic selectors");
            break;
        }
        count++;
    }
    enumerator->destroy(enumerator);

    if (ok)
    {
        /* The completed authentication rounds of the peer (the current
         * round's config is emptied once it succeeded). */
        auths = ike_sa->create_auth_cfg_enumerator(ike_sa, FALSE);
        while (!cert && auths->enumerate(auths, &auth))
        {
            cert = auth->get(auth, AUTH_RULE_SUBJECT_CERT);
        }
        auths->destroy(auths);
        if (cert && !cert->get_encoding(cert, CERT_ASN1_DER, &der))
        {
            der = chunk_empty;
        }
        format_identity(ike_sa->get_other_id(ike_sa), peer, sizeof(peer));
        request.ike_name = ike_sa->get_name(ike_sa);
        request.child_name = child_sa ? child_sa->get_name(child_sa) : "";
        request.peer_id = peer;
        request.peer_certificate_der = der.len ? der.ptr : NULL;
        request.peer_certificate_len = der.len;
        request.remote_ts = selectors;
        request.remote_ts_count = count;
        ok = listener->authorize(listener->authorize_ctx, &request, why, sizeof(why)) != 0;
        chunk_free(&der);
    }
    if (!ok)
    {
        DBG1(DBG_CFG, "nemokey: CHILD_SA refused: %s", why);
        refuse_all(remote);
        refuse_all(local);
    }
    return TRUE;
}

static void set_error(char *err, size_t err_len, const char *what)
{
    if (err && err_len)
    {
        snprintf(err, err_len, "%s", what);
    }
}

int nk_charon_start(const struct nk_charon_config *config, char *err, size_t err_len)
{
    if (running || library_up)
    {
        set_error(err, err_len, "charon is already running in this process");
        return -1;
    }
    if (!library_init(NULL, config->settings_namespace))
    {
        library_deinit();
        set_error(err, err_len, "libstrongswan initialization failed");
        return -1;
    }
    library_up = true;
    if (!libcharon_init())
    {
        set_error(err, err_len, "libcharon initialization failed");
        nk_charon_stop();
        return -1;
    }

    lib->settings->set_bool(lib->settings, "%s.load_modular", FALSE, lib->ns);
    /* A peer that lost its IKE SA (its ikebridged was killed) is declared
     * dead after 2 + 3 + 4.5 + 6.75 s of retransmissions instead of
     * charon's ~165 s, so the mobile side re-keys within a minute of the
     * next liveness check. */
    lib->settings->set_int(lib->settings, "%s.retransmit_tries", 3, lib->ns);
    lib->settings->set_str(lib->settings, "%s.retransmit_timeout", "2.0", lib->ns);
    lib->settings->set_str(lib->settings, "%s.retransmit_base", "1.5", lib->ns);
    if (config->vici_uri)
    {
        lib->settings->set_str(lib->settings, "%s.plugins.vici.socket", (char *)config->vici_uri, lib->ns);
    }
    if (config->ike_port >= 0)
    {
        lib->settings->set_int(lib->settings, "%s.port", config->ike_port, lib->ns);
    }
    if (config->ike_port_nat_t >= 0)
    {
        lib->settings->set_int(lib->settings, "%s.port_nat_t", config->ike_port_nat_t, lib->ns);
    }

    shim_logger = (shim_logger_t){
        .public = { .log = logger_log, .get_level = logger_get_level },
        .level = config->log_level,
        .fn = config->log,
        .ctx = config->log_ctx,
    };
    if (shim_logger.fn)
    {
        charon->bus->add_logger(charon->bus, &shim_logger.public);
    }
    shim_listener = (shim_listener_t){
        .public = {
            .ike_updown = listener_ike_updown,
            .child_updown = listener_child_updown,
            .ike_update = listener_ike_update,
            .child_rekey = listener_child_rekey,
            .ike_rekey = listener_ike_rekey,
            .message = listener_message,
            .narrow = listener_narrow,
        },
        .fn = config->event,
        .ctx = config->event_ctx,
        .authorize = config->authorize,
        .authorize_ctx = config->authorize_ctx,
    };
    charon->bus->add_listener(charon->bus, &shim_listener.public);

    if (!charon->initialize(charon, (char *)config->plugins))
    {
        set_error(err, err_len, "charon initialization failed (a plugin did not load; see the log)");
        nk_charon_stop();
        return -1;
    }
    lib->plugins->status(lib->plugins, LEVEL_CTRL);
    charon->start(charon);
    running = true;
    return 0;
}

int nk_charon_loaded_plugins(char *buf, size_t buf_len)
{
    char *list;
    int count = 0;
    const char *p;

    if (!library_up)
    {
        return 0;
    }
    list = lib->plugins->loaded_plugins(lib->plugins);
    for (p = list; p && *p; p++)
    {
        if (*p != ' ' && (p == list || p[-1] == ' '))
        {
            count++;
        }
    }
    if (buf && buf_len)
    {
        snprintf(buf, buf_len, "%s", list ? list : "");
    }
    return count;
}

void nk_charon_stop(void)
{
    if (library_up)
    {
        if (charon)
        {
            charon->bus->remove_listener(charon->bus, &shim_listener.public);
            if (shim_logger.fn)
            {
                charon->bus->remove_logger(charon->bus, &shim_logger.public);
            }
        }
        libcharon_deinit();
        library_deinit();
    }
    running = false;
    library_up = false;
}
