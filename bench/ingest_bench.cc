// Bulk import (R5) throughput and memory: generates a member file of --rows
// synthetic members (distinct valid ID numbers) as CSV (UTF-8 and GBK) and
// XLSX with the member exporter, then for each file measures
//   - parse only: the streaming reader, every row;
//   - parse + validate: ImportMembers (row mapping, every validator,
//     duplicate ID check), the valid records dropped;
// in rows per second, and the peak resident set size of each phase (VmHWM
// after resetting it through /proc/self/clear_refs) above the RSS before it.
//
//   build/bench/ingest_bench --rows=100000 --dir=/tmp/unionsync_ingest_bench
#include <malloc.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/validation.h"
#include "ingest/import.h"
#include "ingest/table.h"
#include "ingest/writer.h"
#include "synth/synth.h"
#include "unionsync/v1/model.pb.h"

ABSL_FLAG(int64_t, rows, 100000, "Members in the generated files.");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_ingest_bench",
          "Scratch directory.");
ABSL_FLAG(bool, keep, false, "Keep the generated files.");

namespace unionsync::ingest {
namespace {

int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0)
      return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

bool ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

void Die(const absl::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  std::exit(1);
}

// A valid synthetic member with ID number UniqueIdNumber(n).
v1::Member MakeMember(SynthGenerator& gen, uint64_t n) {
  v1::Member m = gen.Member("g1");
  m.set_id_number(UniqueIdNumber(n));
  const IdNumberInfo info = *ParseIdNumber(m.id_number());
  m.set_gender(info.male ? v1::MALE : v1::FEMALE);
  m.set_join_date(absl::FormatCivilTime(
      absl::CivilDay(info.birth_date.year() + 18, info.birth_date.month(), 1)));
  return m;
}

std::string Generate(const std::string& path, FileFormat format,
                     TextEncoding enc, int64_t rows) {
  ExportOptions eo;
  eo.file.format = format;
  eo.file.encoding = enc;
  auto exporter = MemberExporter::Create(path, eo);
  if (!exporter.ok()) Die(exporter.status());
  SynthGenerator gen(1);
  for (int64_t i = 0; i < rows; ++i) {
    if (auto s = (*exporter)->Add(MakeMember(gen, i)); !s.ok()) Die(s);
  }
  if (auto s = (*exporter)->Finish(); !s.ok()) Die(s);
  return path;
}

struct Phase {
  double seconds = 0;
  int64_t rows = 0;
  int64_t peak_growth_kb = 0;
};

template <typename Fn>
Phase Measure(Fn fn) {
  malloc_trim(0);
  ResetPeak();
  const int64_t rss0 = StatusKb("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  Phase p;
  p.rows = fn();
  p.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  p.peak_growth_kb = StatusKb("VmHWM") - rss0;
  return p;
}

int64_t ParseOnly(const std::string& path) {
  auto reader = OpenTableFile(path);
  if (!reader.ok()) Die(reader.status());
  int64_t rows = 0;
  while (true) {
    auto row = (*reader)->Next();
    if (!row.ok()) Die(row.status());
    if (*row == nullptr) break;
    ++rows;
  }
  return rows - 1;  // The header.
}

int64_t ParseAndValidate(const std::string& path) {
  ReaderOptions ro;
  ro.sheet_name = "会员信息";
  auto reader = OpenTableFile(path, ro);
  if (!reader.ok()) Die(reader.status());
  ImportOptions io;
  io.org_id = "g1";
  int64_t valid = 0;
  auto summary = ImportMembers(**reader, io, [&](int64_t, const v1::Member&) {
    ++valid;
    return absl::OkStatus();
  });
  if (!summary.ok()) Die(summary.status());
  if (!summary->ok()) {
    std::fprintf(stderr, "unexpected cell errors: %s\n",
                 summary->errors[0].reason.c_str());
    std::exit(1);
  }
  return valid;
}

int Run() {
  const int64_t rows = absl::GetFlag(FLAGS_rows);
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  struct File {
    const char* label;
    FileFormat format;
    TextEncoding encoding;
    const char* name;
  };
  const File files[] = {
      {"CSV UTF-8", FileFormat::kCsv, TextEncoding::kUtf8, "members_utf8.csv"},
      {"CSV GBK", FileFormat::kCsv, TextEncoding::kGbk, "members_gbk.csv"},
      {"XLSX", FileFormat::kXlsx, TextEncoding::kUtf8, "members.xlsx"},
  };
  std::printf(
      "%lld rows; peak RSS growth = VmHWM during the phase - VmRSS before it\n",
      static_cast<long long>(rows));
  std::printf("%-10s %10s | %12s %10s | %12s %10s\n", "file", "size",
              "parse rows/s", "peak +KiB", "+valid rows/s", "peak +KiB");
  for (const File& f : files) {
    const std::string path =
        Generate(absl::StrCat(dir, "/", f.name), f.format, f.encoding, rows);
    struct stat st;
    stat(path.c_str(), &st);
    ParseOnly(path);  // Warm the page cache.
    const Phase parse = Measure([&] { return ParseOnly(path); });
    const Phase full = Measure([&] { return ParseAndValidate(path); });
    if (parse.rows != rows || full.rows != rows) {
      std::fprintf(stderr, "row count mismatch\n");
      return 1;
    }
    std::printf("%-10s %8.1fMB | %12.0f %10lld | %12.0f %10lld\n", f.label,
                st.st_size / 1e6, parse.rows / parse.seconds,
                static_cast<long long>(parse.peak_growth_kb),
                full.rows / full.seconds,
                static_cast<long long>(full.peak_growth_kb));
  }
  std::printf("process peak RSS (VmHWM since last reset) %lld KiB\n",
              static_cast<long long>(StatusKb("VmHWM")));
  if (!absl::GetFlag(FLAGS_keep)) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace unionsync::ingest

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unionsync::ingest::Run();
}
