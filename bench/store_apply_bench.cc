// Store-level replication throughput, without the network: a child store
// commits N member records (in batches, as bulk entry does), then a parent
// store applies the child's log through the real link cores (child end ->
// parent end, messages passed in memory) until everything is durably applied
// and acknowledged. Measures the apply path that bounds one hop.
//
//   build/bench/store_apply_bench --records=1000000 --dir=/tmp/bench
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "node/store_view.h"
#include "repl/link_core.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/test_vault.h"

ABSL_FLAG(int64_t, records, 200000, "Member records to replicate.");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_store_apply_bench",
          "Scratch directory.");
ABSL_FLAG(int, commit_batch, 1000, "Members per local commit at the child.");
ABSL_FLAG(int, link_batch, 2000, "Changes per replication batch.");
ABSL_FLAG(int, window, 4, "Unacknowledged batches in flight.");

namespace unionsync {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

int Run() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto open = [&](const std::string& id) {
    StoreOptions o;
    o.path = absl::StrCat(dir, "/", id);
    o.node_id = id;
    o.vault = testing::TestVault(id);
    auto s = Store::Open(o);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
      std::exit(1);
    }
    return *std::move(s);
  };
  auto parent = open("430100");
  auto child = open("d1");
  // The tree: city at the parent; the child's registration and a grassroots
  // union.
  auto org = [](const std::string& id, const std::string& parent_id,
                v1::OrgKind kind, int tier, const std::string& host) {
    v1::Org o;
    o.set_id(id);
    o.set_parent_id(parent_id);
    o.set_name(id);
    o.set_kind(kind);
    o.set_tier(tier);
    o.set_status(v1::ORG_ACTIVE);
    o.set_host_node(host);
    return o;
  };
  {
    WriteSet w;
    w.PutOrg(org("430100", "", v1::CITY_FEDERATION, 1, "430100"));
    w.PutOrg(org("d1", "430100", v1::DISTRICT_FEDERATION, 2, "d1"));
    if (!parent->Commit(w, "bench").ok()) return 1;
  }
  StoreView parent_view(parent.get());
  StoreView child_view(child.get());
  repl::LinkConfig config;
  config.max_batch_changes = absl::GetFlag(FLAGS_link_batch);
  config.window = absl::GetFlag(FLAGS_window);
  config.probe_interval_ms = 1LL << 40;
  repl::LinkCore up(repl::Side::kChild, "d1", "430100", &child_view, config);
  repl::LinkCore down(repl::Side::kParent, "430100", "d1", &parent_view,
                      config);

  // Deliver the registration first.
  auto pump = [&](repl::LinkCore& from, Store& from_store, repl::LinkCore& to) {
    bool moved = false;
    for (;;) {
      repl::Ready r = from.TakeReady(0);
      if (r.apply) {
        auto o = ApplyToStore(from_store, std::move(*r.apply));
        if (!o.ok()) {
          std::fprintf(stderr, "apply: %s\n", o.status().ToString().c_str());
          std::exit(1);
        }
        from.Applied(o, 0);
      }
      if (!r.close.ok()) {
        std::fprintf(stderr, "closed: %s\n", r.close.ToString().c_str());
        std::exit(1);
      }
      if (r.send.empty() && !r.apply) return moved;
      for (auto& m : r.send) to.Step(std::move(m), 0);
      moved = true;
    }
  };
  down.Connect(0);
  up.Connect(0);
  while (pump(up, *child, down) | pump(down, *parent, up)) {
  }
  {
    WriteSet w;
    w.PutOrg(org("d1.g1", "d1", v1::INDEPENDENT_GRASSROOTS, 3, "d1"));
    if (!child->Commit(w, "bench").ok()) return 1;
  }

  const int64_t n = absl::GetFlag(FLAGS_records);
  const int per_commit = absl::GetFlag(FLAGS_commit_batch);
  SynthGenerator gen(1);
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n;) {
    WriteSet w;
    for (int k = 0; k < per_commit && i < n; ++k, ++i) {
      v1::Member m = gen.Member("d1.g1");
      m.set_id(absl::StrCat("m", i));
      m.set_id_number(UniqueIdNumber(i));
      m.set_status(v1::MEMBER_ACTIVE);
      w.PutMember(std::move(m));
    }
    auto r = child->Commit(w, "bench");
    if (!r.ok()) {
      std::fprintf(stderr, "commit: %s\n", r.status().ToString().c_str());
      return 1;
    }
  }
  const double entry_s = Seconds(start);
  std::printf(
      "local entry at the child: %lld members in %.2f s = %.0f records/s\n",
      static_cast<long long>(n), entry_s, n / entry_s);

  start = std::chrono::steady_clock::now();
  while (pump(up, *child, down) | pump(down, *parent, up)) {
  }
  const double hop_s = Seconds(start);
  auto counters = parent->GetCounters("d1");
  std::printf(
      "one hop (read child log, apply at parent durably, ack): %lld members in "
      "%.2f s "
      "= %.0f records/s; parent holds %lld members under d1\n",
      static_cast<long long>(n), hop_s, n / hop_s,
      static_cast<long long>(counters.ok() ? counters->members() : -1));
  return counters.ok() && counters->members() == n ? 0 : 1;
}

}  // namespace
}  // namespace unionsync

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unionsync::Run();
}
