// Backups at a node's full size (issue 15): a district node's store with
// --members members, then what an operator waits for and what the clerks feel
// while it runs.
//
//   1. a full online backup while a clerk keeps saving (commit latency of the
//      clerk's saves before and during the backup);
//   2. an incremental backup after 1% more members (what a nightly backup
//      copies);
//   3. verifying a backup (every file re-read, checksums);
//   4. restoring it into an empty directory and opening the restored store
//      (which starts a new incarnation), its member count checked;
//   5. the process's peak memory.
//
// Real RocksDB on the local disk, sync on, the node's own vault. Prints one
// line per figure; docs/BENCHMARKS.md has the command and the results.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_store.h"
#include "store/backup.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/test_vault.h"

ABSL_FLAG(int64_t, members, 1000000, "Members in the node's store.");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_backup_bench",
          "Scratch directory (wiped).");
ABSL_FLAG(int, commit_batch, 5000, "Members per commit while filling.");
ABSL_FLAG(uint64_t, rate_limit_kib, 0,
          "Backup write rate limit in KiB/s (0: none), as --backup_rate_limit_"
          "kib on a node.");

namespace unionsync {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

void Die(const absl::Status& s, const char* what) { bench::CheckOk(s, what); }

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

std::string PeakRss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return line.substr(6);
  }
  return "?";
}

std::unique_ptr<Store> Open(const std::string& path) {
  auto s = Store::Open(bench::DistrictStoreOptions(path));
  if (!s.ok()) Die(s.status(), "open");
  return *std::move(s);
}

// A clerk saving one member at a time until `stop`; each save's latency (ms).
std::vector<double> Clerk(Store& store, int64_t first_id,
                          const std::atomic<bool>& stop) {
  std::vector<double> ms;
  SynthGenerator gen(7);
  for (int64_t i = first_id; !stop.load(); ++i) {
    WriteSet w;
    v1::Member m = gen.Member("d1.g1");
    m.set_id(absl::StrCat("clerk", i));
    m.set_id_number(UniqueIdNumber(i));
    m.set_status(v1::MEMBER_ACTIVE);
    w.PutMember(std::move(m));
    const auto t = Clock::now();
    auto r = store.Commit(w, "clerk");
    if (!r.ok()) Die(r.status(), "clerk commit");
    ms.push_back(Seconds(t) * 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ms;
}

std::string Percentiles(std::vector<double> ms) {
  if (ms.empty()) return "no saves";
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "%zu saves, p50 %.1f ms, p99 %.1f ms, max %.1f ms", ms.size(),
                at(0.5), at(0.99), ms.back());
  return buf;
}

int Run() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const int64_t n = absl::GetFlag(FLAGS_members);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string backups = dir + "/backups";
  auto store = Open(dir + "/d1");
  bench::EnterTree(*store);
  auto t = Clock::now();
  bench::EnterMembers(*store, 0, n, absl::GetFlag(FLAGS_commit_batch));
  std::printf("store: %lld members entered in %.1f s\n",
              static_cast<long long>(n), Seconds(t));

  BackupArchiveOptions ao;
  ao.dir = backups;
  ao.rate_limit_bytes = absl::GetFlag(FLAGS_rate_limit_kib) * 1024;
  auto archive = BackupArchive::Open(ao);
  if (!archive.ok()) Die(archive.status(), "archive");

  // The clerk alone, then the clerk during the full backup.
  std::atomic<bool> stop{false};
  std::vector<double> idle_ms;
  {
    std::thread clerk([&] { idle_ms = Clerk(*store, n * 2, stop); });
    std::this_thread::sleep_for(std::chrono::seconds(5));
    stop = true;
    clerk.join();
  }
  stop = false;
  std::vector<double> busy_ms;
  std::thread clerk([&] { busy_ms = Clerk(*store, n * 3, stop); });
  t = Clock::now();
  auto full = (*archive)->Create(*store, "bench");
  const double full_s = Seconds(t);
  stop = true;
  clerk.join();
  if (!full.ok()) Die(full.status(), "full backup");
  std::printf(
      "full backup: %.2f s, %.1f MiB in %u files (store table files %.1f "
      "MiB)\n",
      full_s, full->size_bytes / 1048576.0, full->files,
      store->TableBytes() / 1048576.0);
  std::printf("clerk's saves without a backup: %s\n",
              Percentiles(idle_ms).c_str());
  std::printf("clerk's saves during the backup: %s\n",
              Percentiles(busy_ms).c_str());

  // 1% more members, then the nightly (incremental) backup.
  const int64_t more = std::max<int64_t>(1, n / 100);
  bench::EnterMembers(*store, n, n + more, absl::GetFlag(FLAGS_commit_batch));
  const uint64_t before = DirBytes(backups);
  t = Clock::now();
  auto incremental = (*archive)->Create(*store, "bench");
  if (!incremental.ok()) Die(incremental.status(), "incremental backup");
  std::printf(
      "incremental backup after %lld more members: %.2f s, %.1f MiB copied "
      "(backup directory %.1f MiB in all)\n",
      static_cast<long long>(more), Seconds(t),
      (DirBytes(backups) - before) / 1048576.0, DirBytes(backups) / 1048576.0);

  t = Clock::now();
  auto verified = (*archive)->Verify(incremental->id);
  if (!verified.ok()) Die(verified.status(), "verify");
  std::printf("verify (every file re-read, checksums): %.2f s\n", Seconds(t));

  const std::string old_incarnation = store->incarnation();
  store.reset();
  const std::string restored = dir + "/restored";
  t = Clock::now();
  auto r = (*archive)->Restore(0, restored);
  if (!r.ok()) Die(r.status(), "restore");
  const double restore_s = Seconds(t);
  t = Clock::now();
  auto back = Open(restored);
  const double open_s = Seconds(t);
  auto counters = back->GetCounters("d1");
  if (!counters.ok()) Die(counters.status(), "counters");
  std::printf(
      "restore: %.2f s; first open of the restored store: %.2f s; %lld "
      "members (clerk's included), new incarnation: %s\n",
      restore_s, open_s, static_cast<long long>(counters->members()),
      back->incarnation() != old_incarnation ? "yes" : "NO");
  std::printf("peak RSS:%s\n", PeakRss().c_str());
  return counters->members() >= n + more &&
                 back->incarnation() != old_incarnation
             ? 0
             : 1;
}

}  // namespace
}  // namespace unionsync

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unionsync::Run();
}
