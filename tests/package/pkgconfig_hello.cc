// Compiled by tests/package/package_test.sh with `pkg-config --cflags --libs eragon` only:
// the installed headers and library suffice for the producer side and the KafkaConsumer too.
#include <cstdio>

#include "eragon/kafka_consumer.h"
#include "eragon/producer.h"

int main() {
  eragon::ProducerOptions o;  // no endpoint: Open must refuse it
  auto producer = eragon::Producer::Open(o);
  std::printf("Producer::Open without endpoint: %s\n", producer.status().ToString().c_str());
  eragon::KafkaConsumer kafka(eragon::KafkaConsumerOptions{});  // no bootstrap: refused
  kafka.OnAny([](const eragon::Delivery&) { return eragon::Status::Ok(); });
  eragon::Status st = kafka.Start();
  std::printf("KafkaConsumer::Start without bootstrap: %s\n", st.ToString().c_str());
  return !producer.ok() && producer.status().code() == eragon::Code::kInvalidArgument &&
                 st.code() == eragon::Code::kInvalidArgument
             ? 0
             : 1;
}
