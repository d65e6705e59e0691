// The embedded durable log: the first implementation of the channel seam
// (src/channel/channel.h; opened through channel::OpenEmbeddedChannel in
// src/channel/embedded.h, which also states its durability under each fsync policy).
// Inside src/log the seam's types go by the log's own names below; nothing outside
// src/log and src/channel uses them.
#pragma once

#include "channel/channel.h"
#include "channel/embedded.h"

namespace eragon::log {

using channel::AppendCallback;
using channel::AppendRecord;
using channel::DiskUsage;
using channel::FsyncOptions;
using channel::FsyncPolicy;
using channel::PositionStore;
using channel::RecordPosition;
using channel::RetentionReport;
using LogOptions = channel::EmbeddedOptions;
using TopicOptions = channel::TopicProperties;
using LogRecord = channel::Record;
using TopicLog = channel::Topic;
using LogManager = channel::Channel;

}  // namespace eragon::log
