// How long a node's store takes to open again (issue 13, item 4), at
// --members members of one grassroots union:
//
//   crash:  a child process enters the members (synced commits) and is killed
//           with SIGKILL right after its last commit returned; the store is
//           then opened here, replaying whatever write-ahead log is live;
//   clean:  the same entry in this process, the store closed normally, then
//           opened.
//
// Each open's time, the live WAL bytes it found and the member count after it
// (which must be every member acknowledged) are printed; docs/BENCHMARKS.md
// has the command and the results.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_store.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/test_vault.h"

ABSL_FLAG(int64_t, members, 1000000, "Members entered before the crash.");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_restart_bench",
          "Scratch directory (wiped).");
ABSL_FLAG(int, commit_batch, 5000, "Members per commit.");

namespace unionsync {
namespace {

using Clock = std::chrono::steady_clock;

StoreOptions Options(const std::string& path) {
  return bench::DistrictStoreOptions(path);
}

uint64_t WalBytes(const std::string& path) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(path)) {
    if (e.path().extension() == ".log") total += e.file_size();
  }
  return total;
}

// Enters the tree and `n` members into `store`, in synced commits.
void Enter(Store& store, int64_t n) {
  bench::EnterTree(store);
  bench::EnterMembers(store, 0, n, absl::GetFlag(FLAGS_commit_batch));
}

// In a child process: enters `n` members, says "done" on `fd`, then waits
// to be killed.
[[noreturn]] void EnterAndWait(const std::string& path, int64_t n, int fd) {
  auto store = Store::Open(Options(path));
  if (!store.ok()) _exit(2);
  Enter(**store, n);
  if (write(fd, "done", 4) != 4) _exit(5);
  for (;;) pause();
}

// Opens the store at `path`, prints how long it took; its member count.
int64_t TimedOpen(const std::string& what, const std::string& path) {
  const uint64_t wal = WalBytes(path);
  const auto t = Clock::now();
  auto store = Store::Open(Options(path));
  const double s = std::chrono::duration<double>(Clock::now() - t).count();
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  auto counters = (*store)->GetCounters("d1");
  const int64_t members = counters.ok() ? counters->members() : -1;
  std::printf(
      "%s: open %.2f s with %.1f MiB of write-ahead log; %lld members\n",
      what.c_str(), s, wal / 1048576.0, static_cast<long long>(members));
  return members;
}

int Run() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const int64_t n = absl::GetFlag(FLAGS_members);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/crash";
  int fds[2];
  if (pipe(fds) != 0) return 1;
  const auto t = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    close(fds[0]);
    EnterAndWait(path, n, fds[1]);
  }
  close(fds[1]);
  char buf[4];
  if (read(fds[0], buf, sizeof buf) != 4) {
    std::fprintf(stderr, "the child failed\n");
    return 1;
  }
  std::printf("entered %lld members in %.1f s in a child process\n",
              static_cast<long long>(n),
              std::chrono::duration<double>(Clock::now() - t).count());
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  const int64_t after_crash = TimedOpen("after kill -9", path);

  // The same entry in this process, then a clean close.
  const std::string clean = dir + "/clean";
  {
    auto store = Store::Open(Options(clean));
    if (!store.ok()) return 1;
    Enter(**store, n);
    const auto c = Clock::now();
    store->reset();
    std::printf("clean close: %.2f s\n",
                std::chrono::duration<double>(Clock::now() - c).count());
  }
  const int64_t after_clean = TimedOpen("after a clean close", clean);
  return after_crash == n && after_clean == n ? 0 : 1;
}

}  // namespace
}  // namespace unionsync

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unionsync::Run();
}
