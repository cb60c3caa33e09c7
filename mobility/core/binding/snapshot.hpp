// Snapshot and restore of the binding cache (home agent) and of the binding
// update list (mobile node / router), so a restarted mobilityd continues
// with the bindings, sequence numbers and lifetimes it had (RFC 6275 sec.
// 9.5.1 and 11.1 keep the last sequence numbers for exactly this purpose).
//
// Pure: values <-> JSON text, no file I/O (mobility/adapters/file/ writes
// and reads the file atomically). The format is documented field by field
// in drafts-notes/snapshot-format.md: {"format": "nemokey-binding-snapshot",
// "version": 1, "kind": "binding-cache" | "binding-update-list", ...}.
//
// Time: the state machines run on a monotonic clock whose epoch does not
// survive a restart, so a snapshot stores every expiry as a duration from
// the moment it was taken ("expires-in-ms") together with that moment on
// the monotonic clock and on the wall clock. Restoring rebases each expiry
// onto the new process's clock: new = now + remaining - downtime, where the
// downtime is measured on the wall clock (0 if the wall clock went back).
//
// Not in a snapshot: DAD in progress, kernel commits in flight, BAs held
// for them, outstanding BUs and their retransmission state. On restore the
// home agent forgets them (a node whose BU went unanswered retransmits it)
// and the binding update list sends the BU of every entry still waiting for
// a BA again (binding_update_list.hpp, BindingUpdateList::restore).
//
// Bad input (not JSON, wrong format or version, wrong types, values out of
// range, duplicates, inconsistent entries) gives a SnapshotError naming the
// field, never an exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "conf/net/result.hpp"
#include "mobility/core/binding/actions.hpp"
#include "mobility/core/binding/binding_cache.hpp"
#include "mobility/core/binding/binding_update_list.hpp"
#include "mobility/core/binding/time.hpp"

namespace nemokey::mobility::binding {

inline constexpr std::string_view snapshot_format = "nemokey-binding-snapshot";
inline constexpr int64_t snapshot_version = 1;

// Every integer of the format stays within the range a JSON number holds
// exactly (2^53 - 1), whatever reads it.
inline constexpr int64_t snapshot_max_integer = (int64_t{1} << 53) - 1;

// The moment a snapshot was taken.
struct SnapshotTime {
    TimePoint monotonic{};       // on the taking process's state-machine clock
    int64_t wall_clock_ms = 0;   // Unix time (UTC), milliseconds

    bool operator==(const SnapshotTime&) const = default;
};

// The restoring process's clocks, read at the same moment.
struct RestoreClock {
    TimePoint now{};
    int64_t wall_clock_ms = 0;
};

// `t` of a snapshot taken at `taken` on the restoring process's clock.
TimePoint rebase(TimePoint t, const SnapshotTime& taken, const RestoreClock& clock);

struct SnapshotError {
    std::string field;     // JSON path, e.g. "entries[2].bindings[0].expires-in-ms"; "" = the document
    std::string message;   // one sentence naming the field and quoting the value

    std::string to_string() const { return "snapshot: " + message; }
};

// A value or a SnapshotError.
template <class T>
using SnapshotResult = net::Result<T, SnapshotError>;

// ---- Home agent ----

struct BindingCacheSnapshot {
    SnapshotTime taken_at;
    // Expiry times on the taking process's clock; in home address order
    // when taken, in file order when decoded.
    std::vector<std::pair<Ipv6Address, BindingCacheEntry>> entries;

    bool operator==(const BindingCacheSnapshot&) const = default;
};

BindingCacheSnapshot take_snapshot(const BindingCache& cache, const SnapshotTime& now);
std::string encode(const BindingCacheSnapshot& snapshot);
SnapshotResult<BindingCacheSnapshot> decode_binding_cache_snapshot(std::string_view text);
// The consistency rules decode applies (also for snapshots built in code).
std::optional<SnapshotError> check_snapshot(const BindingCacheSnapshot& snapshot);
// Replaces the cache's content (BindingCache::restore); returns the ArmTimer
// and CommitKernelState actions the daemon must execute.
SnapshotResult<Actions> restore(BindingCache& cache, const BindingCacheSnapshot& snapshot,
                                const RestoreClock& clock);

// ---- Mobile node / mobile router ----

struct BindingUpdateListSnapshot {
    SnapshotTime taken_at;
    Ipv6Address home_address;
    Ipv6Address home_agent_address;
    BindingUpdateListState state;   // times on the taking process's clock

    bool operator==(const BindingUpdateListSnapshot&) const = default;
};

BindingUpdateListSnapshot take_snapshot(const BindingUpdateList& list, const SnapshotTime& now);
std::string encode(const BindingUpdateListSnapshot& snapshot);
SnapshotResult<BindingUpdateListSnapshot> decode_binding_update_list_snapshot(std::string_view text);
std::optional<SnapshotError> check_snapshot(const BindingUpdateListSnapshot& snapshot);
// Replaces the list's state (BindingUpdateList::restore). The snapshot must
// be for the list's home address and home agent; multiple care-of
// addresses on in the snapshot need them on in the configuration. Bulk
// registration stays on only if the configuration still has it, and the
// configuration's explicit prefix mode wins over an implicit one.
SnapshotResult<Actions> restore(BindingUpdateList& list, const BindingUpdateListSnapshot& snapshot,
                                const RestoreClock& clock);

// ---- Either kind ----

using AnySnapshot = std::variant<BindingCacheSnapshot, BindingUpdateListSnapshot>;
SnapshotResult<AnySnapshot> decode_snapshot(std::string_view text);

}  // namespace nemokey::mobility::binding
