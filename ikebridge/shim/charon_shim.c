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

static void emit(enum nk_charon_event_kind kind, ike_sa_t *ike_sa, child_sa_t *child_sa,
                 const char *detail)
{
    struct nk_charon_event event = {
        .kind = kind,
        .ike_name = ike_sa ? ike_sa->get_name(ike_sa) : "",
        .ike_unique_id = ike_sa ? ike_sa->get_unique_id(ike_sa) : 0,
        .child_name = child_sa ? child_sa->get_name(child_sa) : NULL,
        .detail = detail,
    };
    if (shim_listener.fn)
    {
        shim_listener.fn(shim_listener.ctx, &event);
    }
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

/* The printf hooks (%H) trip -Wformat, so addresses are formatted here. */
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

static bool listener_ike_update(listener_t *this, ike_sa_t *ike_sa, host_t *local, host_t *remote)
{
    char detail[160], l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

    (void)this;
    format_host(local, l, sizeof(l));
    format_host(remote, r, sizeof(r));
    snprintf(detail, sizeof(detail), "local %s[%u] remote %s[%u]", l, local ? local->get_port(local) : 0,
             r, remote ? remote->get_port(remote) : 0);
    emit(NK_CHARON_IKE_ENDPOINT_UPDATE, ike_sa, NULL, detail);
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
        },
        .fn = config->event,
        .ctx = config->event_ctx,
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
