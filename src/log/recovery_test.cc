// Crash recovery: torn tails are cut cleanly, corruption is reported, never served.
#include <algorithm>

#include "log/format.h"
#include "log/log_test_util.h"

namespace eragon::log {
namespace {

using testing::AppendOne;
using testing::LogFixture;
using testing::ReadAll;

constexpr size_t kPayload = 20;
// One partition: records are back to back after the header.
uint64_t RecordStart(int i) {
  return SegmentHeaderSize(1) + static_cast<uint64_t>(i) * (kRecordHeaderSize + kPayload);
}
std::string P(int i) { return testing::Payload(i, kPayload); }

// Writes n single-record batches to topic "t" and closes the log cleanly.
void WriteRecords(LogFixture& f, int n) {
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  for (int i = 0; i < n; ++i) ASSERT_TRUE(AppendOne(t, P(i)).ok());
  ASSERT_TRUE(f.log->Close().ok());
  f.log.reset();
}

std::vector<std::string> Expected(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(P(i));
  return v;
}

// Opens, checks that exactly `survivors` records are there, appends one more and
// checks it follows them, also after another reopen.
void ExpectRecoveredAndAppendable(LogFixture& f, int survivors) {
  Status s = f.Open();
  ASSERT_TRUE(s.ok()) << s.ToString();
  TopicLog* t = f.log->FindTopic("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(ReadAll(t, 0), Expected(survivors));
  auto pos = AppendOne(t, "new");
  ASSERT_TRUE(pos.ok()) << pos.status().ToString();
  EXPECT_EQ((*pos)[0].offset, static_cast<uint64_t>(survivors));
  f.Reopen();
  auto all = Expected(survivors);
  all.push_back("new");
  EXPECT_EQ(ReadAll(f.log->FindTopic("t"), 0), all);
}

TEST(Recovery, TornTailAtEveryByteOfTheLastRecordIsTruncated) {
  for (uint64_t cut = RecordStart(4); cut < RecordStart(5); ++cut) {
    SCOPED_TRACE("file cut at byte " + std::to_string(cut));
    LogFixture f;
    WriteRecords(f, 5);
    ASSERT_TRUE(f.env->TruncateFile(f.SegmentPath("t", 1), cut).ok());
    ExpectRecoveredAndAppendable(f, 4);
  }
}

TEST(Recovery, TornLastRecordFollowedByZerosIsTruncatedAtEveryByte) {
  // A partial write: the record's bytes from `cut` on never reached the disk (zeros).
  for (uint64_t cut = RecordStart(4); cut < RecordStart(5); ++cut) {
    SCOPED_TRACE("zeroed from byte " + std::to_string(cut));
    LogFixture f;
    WriteRecords(f, 5);
    std::string data = *f.env->FileContents(f.SegmentPath("t", 1));
    std::fill(data.begin() + static_cast<int64_t>(cut), data.begin() + RecordStart(5), '\0');
    ASSERT_TRUE(f.env->SetFileContents(f.SegmentPath("t", 1), data).ok());
    ExpectRecoveredAndAppendable(f, 4);
  }
}

TEST(Recovery, BadCrcInTheLastRecordIsATornTail) {
  for (uint64_t at = RecordStart(4); at < RecordStart(5); at += 7) {
    LogFixture f;
    WriteRecords(f, 5);
    ASSERT_TRUE(f.env->CorruptByte(f.SegmentPath("t", 1), at, 0x40).ok());
    ExpectRecoveredAndAppendable(f, 4);
  }
}

TEST(Recovery, BitFlipFollowedByValidRecordsFailsOpenNamingFileAndByte) {
  for (uint64_t at :
       {RecordStart(2), RecordStart(2) + 4, RecordStart(2) + 30, RecordStart(3) - 1}) {
    LogFixture f;
    WriteRecords(f, 6);
    ASSERT_TRUE(f.env->CorruptByte(f.SegmentPath("t", 1), at, 0x01).ok());
    Status s = f.Open();
    ASSERT_EQ(s.code(), Code::kCorruption) << s.ToString();
    EXPECT_NE(s.message().find(f.SegmentPath("t", 1)), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("byte " + std::to_string(RecordStart(2))), std::string::npos)
        << s.message();
  }
}

TEST(Recovery, BitRotInASealedSegmentFailsTheReadAndIsNeverServed) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  int n = 0;
  while (f.env->Exists(f.SegmentPath("t", 3)) == false) ASSERT_TRUE(AppendOne(t, P(n++)).ok());
  ASSERT_TRUE(f.log->Close().ok());
  f.log.reset();
  // Segment 1 is sealed with an index file, so open does not scan it.
  ASSERT_TRUE(f.env->CorruptByte(f.SegmentPath("t", 1), RecordStart(10) + 35, 0x08).ok());
  ASSERT_TRUE(f.Open().ok());
  t = f.log->FindTopic("t");
  auto before = t->Read(0, 0, 10, 1 << 20);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->size(), 10u);
  auto bad = t->Read(0, 10, 10, 1 << 20);
  ASSERT_EQ(bad.status().code(), Code::kCorruption);
  EXPECT_NE(bad.status().message().find(f.SegmentPath("t", 1)), std::string::npos);
  EXPECT_NE(bad.status().message().find("byte " + std::to_string(RecordStart(10))),
            std::string::npos);
  auto spanning = t->Read(0, 5, 100, 1 << 20);
  EXPECT_EQ(spanning.status().code(), Code::kCorruption);
  // Without the index file, the open scan finds it.
  f.log.reset();
  ASSERT_TRUE(f.env->RemoveFile(f.SegmentPath("t", 1) + ".idx").ok());
  EXPECT_EQ(f.Open().code(), Code::kCorruption);
}

// The partitions of a topic share its segments. A read of one partition steps over the
// others' records by their headers (checking their CRCs would multiply a fan-out's CPU
// by the partition count); bit rot in another partition's record is reported by that
// partition's own read, and never served.
TEST(Recovery, ReadStepsOverAnotherPartitionsBitRotWhichThatPartitionsReadReports) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("t", 2);
  std::vector<uint32_t> partition_of;  // per record, in file order
  for (int i = 0; i < 40; ++i) {
    auto pos = AppendOne(t, P(i), "key-" + std::to_string(i));
    ASSERT_TRUE(pos.ok()) << pos.status().ToString();
    partition_of.push_back((*pos)[0].partition);
  }
  const size_t in_zero = std::count(partition_of.begin(), partition_of.end(), 0u);
  ASSERT_GT(in_zero, 5u);
  ASSERT_LT(in_zero, 35u);
  // A record of partition 1 between records of partition 0 (a read of partition 0
  // starts at its first record).
  size_t k = 0;
  while (partition_of[k] != 0) ++k;
  while (partition_of[k] != 1) ++k;
  ASSERT_LT(std::count(partition_of.begin(), partition_of.begin() + k, 0u), in_zero);
  const uint64_t at = SegmentHeaderSize(2) + k * (kRecordHeaderSize + kPayload);
  ASSERT_TRUE(f.env->CorruptByte(f.SegmentPath("t", 1), at + kRecordHeaderSize + 3, 0x08).ok());

  auto zero = t->Read(0, 0, 1000, 1 << 20);
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  EXPECT_EQ(zero->size(), in_zero);
  auto one = t->Read(1, 0, 1000, 1 << 20);
  ASSERT_EQ(one.status().code(), Code::kCorruption) << one.status().ToString();
  EXPECT_NE(one.status().message().find("byte " + std::to_string(at)), std::string::npos)
      << one.status().ToString();
}

TEST(Recovery, MissingIndexFilesAreRebuiltByScanning) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  int n = 0;
  while (!f.env->Exists(f.SegmentPath("t", 4))) ASSERT_TRUE(AppendOne(t, P(n++)).ok());
  ASSERT_TRUE(f.log->Close().ok());
  f.log.reset();
  for (int seq = 1; seq <= 3; ++seq) {
    ASSERT_TRUE(f.env->RemoveFile(f.SegmentPath("t", seq) + ".idx").ok());
  }
  ASSERT_TRUE(f.Open().ok());
  EXPECT_EQ(ReadAll(f.log->FindTopic("t"), 0), Expected(n));
  EXPECT_TRUE(f.env->Exists(f.SegmentPath("t", 1) + ".idx"));
}

TEST(Recovery, UnterminatedBatchIsDroppedWhole) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  std::vector<std::string> payloads;
  for (int i = 0; i < 7; ++i) payloads.push_back(P(i));
  std::vector<AppendRecord> a, b;
  for (int i = 0; i < 3; ++i) a.push_back({"k", payloads[i], 0});
  for (int i = 3; i < 7; ++i) b.push_back({"k", payloads[i], 0});
  ASSERT_TRUE(t->Append(a).ok());
  ASSERT_TRUE(t->Append(b).ok());
  ASSERT_TRUE(f.log->Close().ok());
  f.log.reset();
  // A crash that persisted only the first two records of batch b (whole records, valid
  // CRCs) and nothing after them: the batch has no end marker.
  for (uint64_t cut : {RecordStart(4), RecordStart(5), RecordStart(6)}) {
    LogFixture g;
    ASSERT_TRUE(g.env->CreateDirs("/data/topics/t").ok());
    for (const char* name : {"/data/topics/t/meta", "/data/positions"}) {
      (void)g.env->OpenWritable(name);
      auto content = f.env->FileContents(name);
      if (content.ok()) {
        ASSERT_TRUE(g.env->SetFileContents(name, *content).ok());
      }
    }
    (void)g.env->OpenWritable(g.SegmentPath("t", 1));
    std::string seg = *f.env->FileContents(f.SegmentPath("t", 1));
    seg.resize(cut);
    ASSERT_TRUE(g.env->SetFileContents(g.SegmentPath("t", 1), seg).ok());
    ExpectRecoveredAndAppendable(g, 3);
  }
}

TEST(Recovery, PartiallyCreatedLastSegmentIsDiscarded) {
  LogFixture f;
  WriteRecords(f, 3);
  // A crash while creating segment 2: its header never fully reached the disk.
  (void)f.env->OpenWritable(f.SegmentPath("t", 2));
  ASSERT_TRUE(f.env->SetFileContents(f.SegmentPath("t", 2), std::string(4096, '\0')).ok());
  ExpectRecoveredAndAppendable(f, 3);
}

}  // namespace
}  // namespace eragon::log
