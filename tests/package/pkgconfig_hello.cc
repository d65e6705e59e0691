// Compiled by tests/package/package_test.sh with `pkg-config --cflags --libs eragon` only:
// the installed headers and library suffice for the producer side too.
#include <cstdio>

#include "eragon/producer.h"

int main() {
  eragon::ProducerOptions o;  // no endpoint: Open must refuse it
  auto producer = eragon::Producer::Open(o);
  std::printf("Producer::Open without endpoint: %s\n", producer.status().ToString().c_str());
  return !producer.ok() && producer.status().code() == eragon::Code::kInvalidArgument ? 0 : 1;
}
