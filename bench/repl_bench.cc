// Replication throughput and latency over the real stack: NodeServers in this
// one process, each with its own RocksDB store (sync on) in --dir, linked by
// real gRPC streams with mutual TLS on 127.0.0.1 (certificates made with
// certs/make-ca.sh and certs/make-node-cert.sh in --dir/certs).
//
//   (a) one hop, child 430102 -> hub 430100. The child's store already holds
//       --records members of grassroots unions it hosts (committed directly
//       through its Store in WriteSets of --commit_batch while the node is
//       down, so entry cost is excluded and reported separately); the clock
//       starts when the child node is started again and its uplink connects,
//       and stops when the hub's counters show every member (an apply is one
//       synced WriteBatch, so visible means durable).
//   (a') the same hop with entry and replication together: the linked child
//       commits the members while the link runs; from the first commit until
//       the hub holds them all.
//   (b) tier 4 to hub: members of tier-4 grassroots unions hosted on the
//       tier-3 node 430102.wlp travel 430102.wlp -> 430102 -> 430100, measured
//       as in (a) from the tier-3 node's reconnect until the hub holds them
//       all (the tier-2 node's arrival time is reported too).
//   (c) latency of one change over those three hops, with the tree idle and
//       synced: commit one member at the tier-3 node, poll the hub's store
//       every --poll_us until it is there; --samples times. Reported from the
//       start of the local commit and from its return (durable at the
//       tier-3 node).
//
//   build-bench/bench/repl_bench --records=1000000
//   --dir=/tmp/unionsync_repl_bench
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "node/node_server.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/test_vault.h"
#include "tests/testing/shell.h"
#include "tls/tls.h"

ABSL_FLAG(int64_t, records, 200000,
          "Member records replicated in (a), (a') and (b).");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_repl_bench",
          "Scratch directory (wiped at the start).");
ABSL_FLAG(std::string, run, "a,a2,b,c",
          "Comma-separated benchmarks to run: a (one hop), a2 (one hop, entry "
          "and replication together), b (tier 4 to hub), c (single-change "
          "latency; runs after b on the same tree).");
ABSL_FLAG(int, unions, 100,
          "Grassroots unions hosted on the writing node; members are spread "
          "over them round-robin.");
ABSL_FLAG(int, commit_batch, 1000, "Members per local commit (WriteSet).");
ABSL_FLAG(int, samples, 1000, "Single-change latency samples in (c).");
ABSL_FLAG(int, poll_us, 200, "Polling interval of the hub's store in (c).");
ABSL_FLAG(int, link_batch, 0,
          "If > 0: LinkConfig.max_batch_changes (default: the product's).");
ABSL_FLAG(int, window, 0,
          "If > 0: LinkConfig.window (default: the product's).");
ABSL_FLAG(int, timeout_s, 3600, "Give up waiting after this many seconds.");

namespace unionsync {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kCertsDir[] = UNIONSYNC_CERTS_DIR;
constexpr char kHub[] = "430100";
constexpr char kDistrict[] = "430102";
constexpr char kTown[] = "430102.wlp";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "repl_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Check(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(absl::StrCat(what, ": ", v.status().ToString()));
  return *std::move(v);
}

// Seconds on the monotonic clock (CLOCK_MONOTONIC, as `perf record -k
// CLOCK_MONOTONIC` stamps samples), printed so a profile can be cut to one
// phase with `perf report --time START,END`.
double Monotonic(Clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

using ::unionsync::testing::ShellQuote;

// Polls `done` every `interval` until it holds; dies after --timeout_s.
void WaitFor(
    const std::string& what, const std::function<bool()>& done,
    std::chrono::microseconds interval = std::chrono::milliseconds(2)) {
  const auto deadline =
      Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_timeout_s));
  while (!done()) {
    if (Clock::now() > deadline) {
      Die(absl::StrCat("timed out waiting for ", what));
    }
    std::this_thread::sleep_for(interval);
  }
}

v1::Org Org(const std::string& id, const std::string& parent, v1::OrgKind kind,
            int tier, const std::string& host) {
  v1::Org o;
  o.set_id(id);
  o.set_parent_id(parent);
  o.set_name(absl::StrCat("基准测试工会 ", id));
  o.set_kind(kind);
  o.set_tier(tier);
  o.set_region(kDistrict);
  o.set_status(v1::ORG_ACTIVE);
  o.set_host_node(host);
  return o;
}

void CommitOrgs(Store& store, const std::vector<v1::Org>& orgs) {
  WriteSet w;
  for (const v1::Org& o : orgs) w.PutOrg(o);
  Check(store.Commit(w, "bench"),
        absl::StrCat("commit orgs at ", store.node_id()));
}

// Members for the benchmark: synthetic, valid, with distinct ID numbers and
// random 24-hex ids as the Admin API makes them.
class MemberSource {
 public:
  // Sources with different seeds make different ID numbers (up to 10
  // million members each).
  explicit MemberSource(uint64_t seed) : gen_(seed), next_(seed * 10'000'000) {}

  v1::Member Next(const std::string& org_id) {
    v1::Member m = gen_.Member(org_id);
    m.set_id(absl::StrFormat("%016x%08x", gen_.Uniform(~0ULL),
                             gen_.Uniform(1ULL << 32)));
    m.set_id_number(UniqueIdNumber(next_++));
    m.set_status(v1::MEMBER_ACTIVE);
    m.set_created_at_ms(1577808000000);
    m.set_updated_at_ms(1577808000000);
    return m;
  }

 private:
  SynthGenerator gen_;
  uint64_t next_;
};

// Commits `n` members spread over `unions` in WriteSets of --commit_batch;
// returns the seconds taken.
double CommitMembers(Store& store, MemberSource& members,
                     const std::vector<std::string>& unions, int64_t n) {
  const int per_commit = absl::GetFlag(FLAGS_commit_batch);
  const auto start = Clock::now();
  for (int64_t i = 0; i < n;) {
    WriteSet w;
    for (int k = 0; k < per_commit && i < n; ++k, ++i) {
      w.PutMember(members.Next(unions[i % unions.size()]));
    }
    Check(store.Commit(w, "bench"), "commit members");
  }
  return Seconds(start);
}

class Bench {
 public:
  Bench() : dir_(absl::GetFlag(FLAGS_dir)) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/certs");
    const std::string d = ShellQuote(dir_ + "/certs");
    const std::string s = ShellQuote(kCertsDir);
    std::string script = absl::StrCat(s, "/make-ca.sh ", d);
    for (const char* node : {kHub, kDistrict, kTown}) {
      absl::StrAppend(&script, " && ", s, "/make-node-cert.sh ", d, " ", node);
    }
    const std::string cmd =
        "bash -euo pipefail -c " + ShellQuote(script) + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) Die(absl::StrCat("failed: ", cmd));
    for (int i = 0; i < absl::GetFlag(FLAGS_unions); ++i) {
      union_suffixes_.push_back(absl::StrFormat("g%03d", i));
    }
  }

  NodeOptions Options(const std::string& scenario, const std::string& id,
                      bool children, const std::string& parent_id,
                      int parent_port) const {
    NodeOptions o;
    o.node_id = id;
    o.vault = testing::TestVault(id);
    o.data_dir = absl::StrCat(dir_, "/", scenario, "/", id);
    o.listen = "127.0.0.1:0";
    o.insecure_plaintext = true;
    if (children) o.repl_listen = "127.0.0.1:0";
    o.tls.ca_pem_path = absl::StrCat(dir_, "/certs/ca.pem");
    o.tls.cert_pem_path = absl::StrCat(dir_, "/certs/", id, ".pem");
    o.tls.key_pem_path = absl::StrCat(dir_, "/certs/", id, ".key");
    if (!parent_id.empty()) {
      o.parent_id = parent_id;
      o.parent_address = absl::StrCat("127.0.0.1:", parent_port);
    }
    if (absl::GetFlag(FLAGS_link_batch) > 0) {
      o.link.max_batch_changes = absl::GetFlag(FLAGS_link_batch);
    }
    if (absl::GetFlag(FLAGS_window) > 0) {
      o.link.window = absl::GetFlag(FLAGS_window);
    }
    return o;
  }

  static std::unique_ptr<NodeServer> Start(const NodeOptions& o) {
    std::filesystem::create_directories(
        std::filesystem::path(o.data_dir).parent_path());
    return Check(NodeServer::Start(o), absl::StrCat("start ", o.node_id));
  }

  std::vector<v1::Org> Unions(const std::string& parent, int tier) const {
    std::vector<v1::Org> out;
    for (const std::string& g : union_suffixes_) {
      out.push_back(Org(absl::StrCat(parent, ".", g), parent,
                        v1::INDEPENDENT_GRASSROOTS, tier, parent));
    }
    return out;
  }
  std::vector<std::string> UnionIds(const std::string& parent) const {
    std::vector<std::string> out;
    for (const std::string& g : union_suffixes_) {
      out.push_back(absl::StrCat(parent, ".", g));
    }
    return out;
  }

  static int64_t MembersAt(NodeServer& node, const std::string& org) {
    auto c = node.store().GetCounters(org);
    return c.ok() ? c->members() : -1;
  }
  static int64_t Orgs(NodeServer& node, const std::string& org) {
    auto c = node.store().GetCounters(org);
    return c.ok() ? c->orgs() : -1;
  }

  // True when the node's uplink has everything of its log acknowledged.
  static bool UplinkIdle(NodeServer& node) {
    for (const repl::LinkStats& s : node.LinkStatus()) {
      if (s.side != repl::Side::kChild) continue;
      return s.state == repl::LinkState::kStreaming && s.inflight == 0 &&
             s.acked + 1 >= node.store().next_log_pos();
    }
    return false;
  }

  // A hub with the district registered (hosted by its own node), and the
  // district node linked to it, with its registration received.
  void StartHubAndDistrict(const std::string& scenario,
                           bool district_children) {
    hub_ = Start(Options(scenario, kHub, true, "", 0));
    CommitOrgs(hub_->store(),
               {Org(kHub, "", v1::CITY_FEDERATION, 1, kHub),
                Org(kDistrict, kHub, v1::DISTRICT_FEDERATION, 2, kDistrict)});
    district_ = Start(Options(scenario, kDistrict, district_children, kHub,
                              hub_->repl_port()));
    WaitFor("the district's registration at the district node",
            [&] { return district_->store().GetOrg(kDistrict).ok(); });
  }

  void Stop() {
    town_.reset();
    district_.reset();
    hub_.reset();
  }

  // (a): one hop from a child whose store already holds the records.
  void OneHop() {
    const int64_t n = absl::GetFlag(FLAGS_records);
    std::printf(
        "\n(a) one hop %s -> %s, %lld members already in the child's "
        "store\n",
        kDistrict, kHub, static_cast<long long>(n));
    StartHubAndDistrict("a", false);
    CommitOrgs(district_->store(), Unions(kDistrict, 3));
    const int64_t orgs = 1 + union_suffixes_.size();
    WaitFor("the unions at the hub",
            [&] { return Orgs(*hub_, kDistrict) == orgs; });
    // Down, fill the store directly, up again.
    const NodeOptions options =
        Options("a", kDistrict, false, kHub, hub_->repl_port());
    district_.reset();
    {
      StoreOptions so;
      so.path = options.data_dir;
      so.node_id = kDistrict;
      so.vault = testing::TestVault(kDistrict);
      auto store = Check(Store::Open(so), "open the district's store");
      MemberSource members(1);
      const double entry_s =
          CommitMembers(*store, members, UnionIds(kDistrict), n);
      std::printf(
          "  entry at the child (not counted): %.2f s = %.0f records/s "
          "(WriteSets of %d, sync)\n",
          entry_s, n / entry_s, absl::GetFlag(FLAGS_commit_batch));
    }
    auto start = Clock::now();
    district_ = Start(options);
    const double start_s = Seconds(start);
    std::printf("  child node started; timing from its uplink connecting\n");
    start = Clock::now();
    WaitFor("all members at the hub",
            [&] { return MembersAt(*hub_, kDistrict) >= n; });
    const double hop_s = Seconds(start);
    const double hop_end = Monotonic(Clock::now());
    WaitFor("the child's uplink to be acknowledged",
            [&] { return UplinkIdle(*district_); });
    const double acked_s = Seconds(start);
    std::printf("  node start (store open, servers; not counted): %.3f s\n",
                start_s);
    std::printf(
        "  RESULT one_hop: %lld records in %.2f s = %.0f records/s "
        "(all acknowledged at the child after %.2f s)\n"
        "  [monotonic clock: %.3f,%.3f]\n",
        static_cast<long long>(n), hop_s, n / hop_s, acked_s, Monotonic(start),
        hop_end);
    Stop();
  }

  // (a'): one hop, entry and replication at the same time.
  void OneHopPipelined() {
    const int64_t n = absl::GetFlag(FLAGS_records);
    std::printf(
        "\n(a') one hop %s -> %s, %lld members committed at the linked "
        "child meanwhile\n",
        kDistrict, kHub, static_cast<long long>(n));
    StartHubAndDistrict("a2", false);
    CommitOrgs(district_->store(), Unions(kDistrict, 3));
    const int64_t orgs = 1 + union_suffixes_.size();
    WaitFor("the unions at the hub",
            [&] { return Orgs(*hub_, kDistrict) == orgs; });
    WaitFor("an idle link", [&] { return UplinkIdle(*district_); });
    MemberSource members(2);
    const auto start = Clock::now();
    const double entry_s =
        CommitMembers(district_->store(), members, UnionIds(kDistrict), n);
    const int64_t at_hub_after_entry = MembersAt(*hub_, kDistrict);
    WaitFor("all members at the hub",
            [&] { return MembersAt(*hub_, kDistrict) >= n; });
    const double total_s = Seconds(start);
    std::printf(
        "  entry at the child: %.2f s = %.0f records/s; the hub held "
        "%lld of them by then\n",
        entry_s, n / entry_s, static_cast<long long>(at_hub_after_entry));
    std::printf(
        "  RESULT one_hop_pipelined: %lld records, first commit to all "
        "at the hub %.2f s = %.0f records/s\n",
        static_cast<long long>(n), total_s, n / total_s);
    Stop();
  }

  // The three-level tree of (b) and (c): hub <- district <- town, with the
  // town's grassroots unions registered everywhere.
  void StartTree(const std::string& scenario) {
    StartHubAndDistrict(scenario, true);
    CommitOrgs(district_->store(),
               {Org(kTown, kDistrict, v1::TOWNSHIP_FEDERATION, 3, kTown)});
    town_ = Start(
        Options(scenario, kTown, false, kDistrict, district_->repl_port()));
    WaitFor("the town's registration at the town node",
            [&] { return town_->store().GetOrg(kTown).ok(); });
    CommitOrgs(town_->store(), Unions(kTown, 4));
    const int64_t orgs = 1 + union_suffixes_.size();
    WaitFor("the unions at the hub",
            [&] { return Orgs(*hub_, kTown) == orgs; });
  }

  // (b): tier 4 to hub, three hops, records already in the town's store.
  void TierFourToHub() {
    const int64_t n = absl::GetFlag(FLAGS_records);
    std::printf(
        "\n(b) tier 4 to hub %s -> %s -> %s, %lld members of tier-4 "
        "unions already in the tier-3 store\n",
        kTown, kDistrict, kHub, static_cast<long long>(n));
    StartTree("b");
    const NodeOptions options =
        Options("b", kTown, false, kDistrict, district_->repl_port());
    town_.reset();
    {
      StoreOptions so;
      so.path = options.data_dir;
      so.node_id = kTown;
      so.vault = testing::TestVault(kTown);
      auto store = Check(Store::Open(so), "open the town's store");
      MemberSource members(3);
      const double entry_s = CommitMembers(*store, members, UnionIds(kTown), n);
      std::printf(
          "  entry at the tier-3 node (not counted): %.2f s = %.0f "
          "records/s\n",
          entry_s, n / entry_s);
    }
    town_ = Start(options);
    std::printf("  tier-3 node started; timing from its uplink connecting\n");
    const auto start = Clock::now();
    double district_s = 0;
    WaitFor("all members at the hub", [&] {
      if (district_s == 0 && MembersAt(*district_, kTown) >= n) {
        district_s = Seconds(start);
      }
      return MembersAt(*hub_, kTown) >= n;
    });
    const double hub_s = Seconds(start);
    const double hub_end = Monotonic(Clock::now());
    if (district_s == 0) district_s = hub_s;
    std::printf("  all at the tier-2 node after %.2f s (%.0f records/s)\n",
                district_s, n / district_s);
    std::printf(
        "  RESULT tier4_to_hub: %lld records in %.2f s = %.0f "
        "records/s\n  [monotonic clock: %.3f,%.3f]\n",
        static_cast<long long>(n), hub_s, n / hub_s, Monotonic(start), hub_end);
    WaitFor("idle links",
            [&] { return UplinkIdle(*town_) && UplinkIdle(*district_); });
  }

  // (c): latency of one change from the tier-3 node to the hub. Runs on the
  // tree (b) left behind, or builds one.
  void SingleChange() {
    const int samples = absl::GetFlag(FLAGS_samples);
    const auto poll = std::chrono::microseconds(absl::GetFlag(FLAGS_poll_us));
    std::printf(
        "\n(c) single change %s -> %s -> %s, tree idle and synced, "
        "%d samples, hub polled every %d us\n",
        kTown, kDistrict, kHub, samples, absl::GetFlag(FLAGS_poll_us));
    if (town_ == nullptr) StartTree("c");
    WaitFor("idle links",
            [&] { return UplinkIdle(*town_) && UplinkIdle(*district_); });
    const std::vector<std::string> unions = UnionIds(kTown);
    MemberSource members(4);
    std::vector<double> from_start, from_durable, commit_ms;
    for (int i = 0; i < samples; ++i) {
      WriteSet w;
      v1::Member m = members.Next(unions[i % unions.size()]);
      const std::string id = m.id();
      w.PutMember(std::move(m));
      const auto t0 = Clock::now();
      Check(town_->store().Commit(w, "bench"), "commit one member");
      const auto t1 = Clock::now();
      while (!hub_->store().GetMember(id).ok()) {
        if (Clock::now() - t0 > std::chrono::seconds(60)) {
          Die(absl::StrCat("member ", id, " not at the hub after 60 s"));
        }
        std::this_thread::sleep_for(poll);
      }
      const auto t2 = Clock::now();
      using Ms = std::chrono::duration<double, std::milli>;
      from_start.push_back(Ms(t2 - t0).count());
      from_durable.push_back(Ms(t2 - t1).count());
      commit_ms.push_back(Ms(t1 - t0).count());
      // Idle again (acknowledgements back at every node) before the next.
      WaitFor(
          "idle links",
          [&] { return UplinkIdle(*town_) && UplinkIdle(*district_); },
          std::chrono::microseconds(500));
    }
    auto report = [](const char* name, std::vector<double> v) {
      std::sort(v.begin(), v.end());
      auto at = [&](double q) {
        size_t i = static_cast<size_t>(std::ceil(q * v.size()));
        return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
      };
      std::printf("  %-47s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", name,
                  at(0.50), at(0.99), v.back());
    };
    report("local commit at the tier-3 node (fsync):", commit_ms);
    report("RESULT single_change (commit start -> hub):", from_start);
    report("durable at tier 3 -> visible (durable) at hub:", from_durable);
  }

  void Run() {
    const std::vector<std::string> runs =
        absl::StrSplit(absl::GetFlag(FLAGS_run), ',', absl::SkipEmpty());
    auto wants = [&](const char* name) {
      return std::find(runs.begin(), runs.end(), name) != runs.end();
    };
    std::printf(
        "repl_bench: --records=%lld --unions=%d --commit_batch=%d "
        "--dir=%s; %u hardware threads\n",
        static_cast<long long>(absl::GetFlag(FLAGS_records)),
        absl::GetFlag(FLAGS_unions), absl::GetFlag(FLAGS_commit_batch),
        dir_.c_str(), std::thread::hardware_concurrency());
    if (wants("a")) OneHop();
    if (wants("a2")) OneHopPipelined();
    if (wants("b")) TierFourToHub();
    if (wants("c")) SingleChange();
    Stop();
  }

 private:
  const std::string dir_;
  std::vector<std::string> union_suffixes_;
  std::unique_ptr<NodeServer> hub_;
  std::unique_ptr<NodeServer> district_;
  std::unique_ptr<NodeServer> town_;
};

}  // namespace
}  // namespace unionsync

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 1 << 12);  // Progress as it happens.
  unionsync::Bench bench;
  bench.Run();
  return 0;
}
