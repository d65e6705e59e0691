// eragon-bench sdk: the C++ SDK's producer side (src/sdk, include/eragon/producer.h).
//   - enqueue rate of each EventQueue kind from 1 and 8 threads into a drainer that
//     discards (Take + Done) — bench_sdk_queue.cc;
//   - the file queue's MB/s under group fsync next to the disk's raw sequential write
//     bandwidth (1 MiB pwrite + fdatasync loops: raw_disk.h, shared with eragon-log-bench);
//   - SDK -> eragond events/s next to raw batched HTTP publishing (the load generator of
//     `eragon-bench publish`) against the same spawned eragond — bench_sdk.cc.
#pragma once

#include <string>

#include "bench/bench_flags.h"
#include "eragon/event_queue.h"

namespace eragon::bench {

struct QueueRun {
  double enqueues_per_s = 0;
  double mb_per_s = 0;  // payload bytes
};

// `threads` enqueuers each copy a `payload_bytes` payload into Enqueue (batch > 1:
// `batch` payloads into EnqueueBatch) in a loop for `seconds`; one drainer takes and
// marks done everything (nothing is published). Rates count records.
QueueRun RunQueueRate(EventQueue& queue, int threads, size_t payload_bytes, double seconds,
                      int batch = 1);

int SdkMain(Flags& flags);  // eragon-bench sdk

}  // namespace eragon::bench
