#include "mobility/daemon/report_names.hpp"

namespace nemokey::mobility::daemon {

namespace {
struct Name {
    std::string_view name;
    std::string_view id;
};

Name name_of(binding::ReportKind k) {
    using K = binding::ReportKind;
    switch (k) {
        case K::registered: return {"registered", "MOB_BINDING_REGISTERED"};
        case K::deregistered: return {"deregistered", "MOB_BINDING_DEREGISTERED"};
        case K::registration_rejected: return {"registration-rejected", "MOB_REGISTRATION_REJECTED"};
        case K::binding_lost: return {"binding-lost", "MOB_BINDING_LOST"};
        case K::home_agent_unusable: return {"home-agent-unusable", "MOB_HOME_AGENT_UNUSABLE"};
        case K::prefix_discovery_necessary: return {"prefix-discovery-necessary", "MOB_PREFIX_DISCOVERY_NECESSARY"};
        case K::mobile_router_not_supported: return {"mobile-router-not-supported", "MOB_MR_NOT_SUPPORTED"};
        case K::retransmissions_exhausted: return {"retransmissions-exhausted", "MOB_RETRANSMISSIONS_EXHAUSTED"};
        case K::mcoa_fallback: return {"mcoa-fallback", "MOB_MCOA_FALLBACK"};
        case K::binding_expired: return {"binding-expired", "MOB_BINDING_EXPIRED"};
        case K::duplicate_address_detected: return {"duplicate-address-detected", "MOB_DAD_DUPLICATE"};
        case K::kernel_state_failed: return {"kernel-state-failed", "MOB_KERNEL_STATE_FAILED"};
        case K::migrate_failed: return {"migrate-failed", "MOB_MIGRATE_FAILED"};
        case K::key_management_mobility_changed: return {"k-flag-changed", "MOB_K_FLAG_CHANGED"};
        case K::waiting_for_security_associations: return {"waiting-for-sas", "MOB_WAITING_FOR_SAS"};
    }
    return {"unknown", "MOB_REPORT_UNKNOWN"};
}
}  // namespace

std::string_view to_string(binding::ReportKind kind) { return name_of(kind).name; }
std::string_view report_log_id(binding::ReportKind kind) { return name_of(kind).id; }

}  // namespace nemokey::mobility::daemon
