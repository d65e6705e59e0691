// The producer routes of the platform event types: created at startup when missing, and
// refused to PUT and DELETE through the API (RouteAdmin answers 409 conflict), so the
// daemon can always publish them.
#pragma once

#include <cstdint>

#include "config/config_store.h"
#include "eragon/status.h"

namespace eragon::platform {

// The producer route of a platform event type: producer `eragon`, on `channel` (embedded
// on a single node, kafka in a cluster), topic `eragon.platform`, ordered (per consumer),
// 8 partitions.
config::ProducerRoute PlatformProducerRoute(
    std::string_view event_type, int64_t now_ms,
    config::ChannelKind channel = config::ChannelKind::kEmbedded);

// Stores the route of each platform event type that has none (or one that differs: an
// older build's, or a store edited by hand). Existing right ones are left as they are.
Status EnsurePlatformRoutes(config::ConfigStore* store, int64_t now_ms,
                            config::ChannelKind channel = config::ChannelKind::kEmbedded);

}  // namespace eragon::platform
