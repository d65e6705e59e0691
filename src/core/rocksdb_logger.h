// StderrRocksLogger: RocksDB's info log for eragond's RocksDB stores (the id index, the
// delivery store). RocksDB's own logger writes a LOG file into the store's directory; on a
// full disk one of its writes fails, and Debian's librocksdb (built with assertions)
// aborts the process at the next log line (WritableFileWriter: "Writer has previous
// error"). This logger writes no file: warnings and worse go to stderr, the rest is
// dropped. Header-only, so only the components that link RocksDB pull it in.
#pragma once

#include <rocksdb/env.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace eragon {

class StderrRocksLogger final : public rocksdb::Logger {
 public:
  // `name` prefixes each line: "eragond: rocksdb <name>: ...".
  explicit StderrRocksLogger(std::string name)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), name_(std::move(name)) {}

  void LogHeader(const char* /*format*/, va_list /*ap*/) override {}  // options dumps
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    vsnprintf(line, sizeof line, format, ap);
    fprintf(stderr, "eragond: rocksdb %s: %s\n", name_.c_str(), line);
  }

 private:
  std::string name_;
};

}  // namespace eragon
