// HandlerSet (eragon/handler.h): handlers by event type, shared by the pull consumer and
// the push receiver.
#include <exception>

#include "eragon/handler.h"

namespace eragon {

void HandlerSet::On(std::string event_type, Handler handler) {
  by_type_[std::move(event_type)] = std::move(handler);
}

void HandlerSet::OnAny(Handler handler) { default_ = std::move(handler); }

Status HandlerSet::Run(const Delivery& delivery) const {
  const Handler* h = nullptr;
  if (auto it = by_type_.find(delivery.event.event_type); it != by_type_.end() && it->second) {
    h = &it->second;
  } else if (default_) {
    h = &default_;
  }
  if (h == nullptr) {
    return Status::UnknownEventType("no handler for event type '" + delivery.event.event_type +
                                    "'");
  }
  // Exceptions stop here: a throwing handler is a failed delivery, never a dead thread.
  try {
    return (*h)(delivery);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("handler threw: ") + e.what());
  } catch (...) {
    return Status::Internal("handler threw a non-standard exception");
  }
}

}  // namespace eragon
