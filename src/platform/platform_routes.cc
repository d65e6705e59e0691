#include "platform/platform_routes.h"

#include <optional>
#include <string>

#include "platform/platform_events.h"

namespace eragon::platform {

config::ProducerRoute PlatformProducerRoute(std::string_view event_type, int64_t now_ms,
                                            config::ChannelKind channel) {
  config::ProducerRoute r;
  r.event_type = std::string(event_type);
  r.producer = std::string(kProducer);
  r.channel = channel;
  r.topic = std::string(kTopic);
  r.ordered = true;
  r.partitions = 8;
  r.created_at = now_ms;
  r.updated_at = now_ms;
  return r;
}

Status EnsurePlatformRoutes(config::ConfigStore* store, int64_t now_ms,
                            config::ChannelKind channel) {
  for (std::string_view type : kEventTypes) {
    ERAGON_ASSIGN_OR_RETURN(std::optional<config::ProducerRoute> old,
                            store->GetProducer(std::string(type)));
    config::ProducerRoute want = PlatformProducerRoute(type, now_ms, channel);
    if (old) {
      want.created_at = old->created_at;
      want.updated_at = old->updated_at;
      if (*old == want) continue;
      want.updated_at = now_ms;
    }
    ERAGON_RETURN_IF_ERROR(store->PutProducer(want).status());
  }
  return Status::Ok();
}

}  // namespace eragon::platform
