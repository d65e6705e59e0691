// Kafka's murmur2: exactly org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c),
// so that keys land in the same partitions as with Kafka's default partitioner.
#pragma once

#include <cstdint>
#include <string_view>

namespace eragon {

// The signed 32-bit hash Java's Utils.murmur2 returns.
int32_t Murmur2(std::string_view data);
// Kafka's Utils.toPositive(murmur2(key)) % partitions. REQUIRES: partitions > 0.
uint32_t Murmur2Partition(std::string_view key, uint32_t partitions);

}  // namespace eragon
