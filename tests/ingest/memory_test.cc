// Streaming: reading a 100,000-row file holds no more memory than reading a
// 10,000-row one. Checked two ways: the peak resident set size of the process
// while reading (reset before each read through /proc/self/clear_refs, read
// from VmHWM), and the bytes the reader reports holding after every row.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "ingest/import.h"
#include "ingest/table.h"
#include "ingest/test_files.h"
#include "ingest/writer.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::ingest {
namespace {

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); -1 if unreadable.
int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0)
      return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

// Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
bool ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

struct Measured {
  int64_t rows = 0;
  int64_t peak_growth_kb = 0;
  size_t max_bytes_held = 0;
  int64_t file_kb = 0;
};

Measured ReadMeasured(const std::string& path) {
  Measured m;
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  m.file_kb = st.st_size / 1024;
  malloc_trim(0);
  EXPECT_TRUE(ResetPeak());
  const int64_t rss0 = StatusKb("VmRSS");
  {
    auto reader = OpenTableFile(path);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return m;
    while (true) {
      auto row = (*reader)->Next();
      EXPECT_TRUE(row.ok()) << row.status();
      if (!row.ok() || *row == nullptr) break;
      ++m.rows;
      m.max_bytes_held = std::max(m.max_bytes_held, (*reader)->BytesHeld());
    }
  }
  m.peak_growth_kb = StatusKb("VmHWM") - rss0;
  return m;
}

std::string WriteMembers(int n, FileFormat format) {
  const std::string path =
      testing::TempPath(format == FileFormat::kCsv ? "m.csv" : "m.xlsx");
  ExportOptions eo;
  eo.file.format = format;
  auto exporter = MemberExporter::Create(path, eo);
  EXPECT_TRUE(exporter.ok()) << exporter.status();
  constexpr int kBatch =
      1000;  // Generate in batches: keep the test's own memory flat.
  for (int i = 0; i < n; i += kBatch) {
    for (const v1::Member& m : testing::Members(std::min(kBatch, n - i), i)) {
      EXPECT_OK((*exporter)->Add(m));
    }
  }
  EXPECT_OK((*exporter)->Finish());
  return path;
}

void CheckFlat(FileFormat format) {
  if (StatusKb("VmHWM") < 0 || !ResetPeak()) {
    GTEST_SKIP() << "/proc/self/clear_refs not available";
  }
  const std::string small_path = WriteMembers(10000, format);
  const std::string large_path = WriteMembers(100000, format);
  // Read the small file twice: the first read warms up allocator arenas.
  ReadMeasured(small_path);
  const Measured small = ReadMeasured(small_path);
  const Measured large = ReadMeasured(large_path);
  EXPECT_EQ(small.rows, 10001);
  EXPECT_EQ(large.rows, 100001);
  ::testing::Test::RecordProperty("small_peak_growth_kb", small.peak_growth_kb);
  ::testing::Test::RecordProperty("large_peak_growth_kb", large.peak_growth_kb);
  std::cout << "file " << small.file_kb << " KiB -> peak RSS growth "
            << small.peak_growth_kb << " KiB, reader holds "
            << small.max_bytes_held << " B; file " << large.file_kb
            << " KiB -> peak RSS growth " << large.peak_growth_kb
            << " KiB, reader holds " << large.max_bytes_held << " B\n";
  // The large file is ten times the small one ...
  ASSERT_GT(large.file_kb, 4 * 1024);
  // ... yet the reader holds the same bounded buffers ...
  EXPECT_LT(large.max_bytes_held, 512u * 1024);
  EXPECT_LE(large.max_bytes_held, small.max_bytes_held + 4096);
  // ... and the process's peak does not grow with the file: within 2 MiB of
  // the small file's, and far below the file's size.
  EXPECT_LT(large.peak_growth_kb, small.peak_growth_kb + 2048);
  EXPECT_LT(large.peak_growth_kb, large.file_kb / 4);
}

TEST(StreamingMemoryTest, Csv100kRowsReadInFlatMemory) {
  CheckFlat(FileFormat::kCsv);
}

TEST(StreamingMemoryTest, Xlsx100kRowsReadInFlatMemory) {
  CheckFlat(FileFormat::kXlsx);
}

}  // namespace
}  // namespace unionsync::ingest
