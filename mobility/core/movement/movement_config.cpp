#include "conf/model.hpp"
#include "mobility/core/movement/movement_detector.hpp"

namespace nemokey::mobility::movement {

MovementDetectorConfig movement_detector_config(const conf::Model& model) {
    MovementDetectorConfig c;
    for (const auto& i : model.interfaces) c.interfaces.push_back({i.name, i.preference, i.binding_id});
    // RFC 6275 sec. 11.5.2: the home prefix is statically configured here
    // (bootstrapping it, RFC 5026, is not implemented).
    if (model.home) c.home_prefixes.push_back(model.home->home_prefix.value.normalized());
    return c;
}

}  // namespace nemokey::mobility::movement
