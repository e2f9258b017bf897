// Deterministic simulation of replication: a hub, two tier-2 nodes and two
// tier-3 nodes in one process, each with a real Store on an in-memory RocksDB
// Env and real LinkCores, over a seeded fake network and clock that breaks
// links, duplicates, delays and reorders messages, and restarts nodes while a
// random workload writes at every tier. After healing, the hub must hold every
// record exactly as its writer last wrote it, exactly once, and every digest
// must agree.
//
// A failing seed is printed; replay one with
//   UNIONSYNC_SIM_SEED=<seed> tests/repl/repl_sim_test --gtest_filter='*One*'
// and run more with UNIONSYNC_SIM_SEEDS=<count> (default 125 per shard).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <queue>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/org_rules.h"
#include "monitor/reconciler.h"
#include "node/store_view.h"
#include "repl/link_core.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/audit_tamper.h"
#include "testing/store_checks.h"
#include "testing/test_vault.h"

namespace unionsync {
namespace {

constexpr char kHub[] = "430100";

struct Faults {
  double p_break = 0.01;     // A message kills its stream instead.
  double p_dup = 0.005;      // A message is delivered twice.
  double p_reorder = 0.01;   // A message gets a long delay (may overtake).
  double p_restart = 0.002;  // Per workload step: restart a random node.
};

class Sim {
 public:
  Sim(uint64_t seed, Faults faults)
      : seed_(seed),
        rng_(seed),
        gen_(seed),
        faults_(faults),
        env_(rocksdb::NewMemEnv(rocksdb::Env::Default())),
        clock_(1'700'000'000'000) {
    AddNode(kHub, "");
    AddNode("d1", kHub);
    AddNode("d2", kHub);
    AddNode("t1", "d1");
    AddNode("t2", "d2");
    for (auto& [id, n] : nodes_) OpenNode(n);
  }

  ~Sim() {
    for (auto& [id, n] : nodes_) CloseNode(n);
  }

  // Builds the tree through the same writes the Admin API makes, then runs the
  // random workload with faults, then heals and runs to quiescence.
  void Bootstrap() { BootstrapTree(); }

  void Run(int steps) {
    Bootstrap();
    Work(steps);
    Heal();
  }

  // The random workload, with faults unless healed.
  // The hub reconciles what has arrived (its thread does this in a node).
  void Reconcile() {
    Node& hub = nodes_.at(kHub);
    if (hub.reconciler == nullptr) return;
    auto r = hub.reconciler->CatchUp();
    ASSERT_TRUE(r.ok()) << r.status();
    if (rng_() % 10 == 0) {
      auto sweep = hub.reconciler->Sweep();
      ASSERT_TRUE(sweep.ok()) << sweep;
    }
  }

  void Work(int steps) {
    for (int i = 0; i < steps; ++i) {
      RunFor(rng_() % 40);
      Reconcile();
      Workload();
      if (!healing_ && Chance(faults_.p_restart)) Restart(RandomNodeId());
    }
  }

  // Stops the faults and runs until everything is delivered and compared.
  void Heal() {
    healing_ = true;
    healed_at_ = clock_.NowMs();
    for (auto& [child, link] : links_) {
      if (!link.connected) Reconnect(child);
      ChildEnd(child).RequestProbe();
    }
    // Long enough for every probe round and repair; the hub reconciles on
    // the way, and its warnings travel down before quiescence.
    for (int i = 0; i < 400 && !Quiescent(); ++i) {
      RunFor(250);
      Reconcile();
      if (Quiescent()) {
        Node& hub = nodes_.at(kHub);
        auto sweep = hub.reconciler->Sweep();
        ASSERT_TRUE(sweep.ok()) << sweep;
        Reconcile();
      }
    }
  }

  // Everything delivered, applied and acknowledged; digests compared.
  bool Quiescent() {
    if (messages_in_flight_ > 0) return false;
    for (auto& [child, link] : links_) {
      if (!link.connected) return false;
      Node& c = nodes_.at(child);
      const auto& s = c.up->stats();
      if (s.state != repl::LinkState::kStreaming || s.inflight != 0 ||
          s.digest != repl::DigestState::kAgree ||
          s.last_agree_ms < healed_at_ || s.scanned < c.store->next_log_pos()) {
        return false;
      }
      // The parent holds the child's audit chain up to its head.
      if (s.audit_seq != c.store->audit_head().seq) return false;
      Node& p = nodes_.at(c.parent);
      const auto& ps = p.down.at(child)->stats();
      if (ps.inflight != 0 || ps.scanned < p.store->next_log_pos())
        return false;
    }
    return true;
  }

  // The checks of a healed run; empty when all hold.
  std::string Check() {
    std::string out;
    auto fail = [&](const std::string& msg) {
      if (out.size() < 4000) absl::StrAppend(&out, msg, "\n");
    };
    if (!Quiescent()) fail("did not reach quiescence");
    Store& hub = *nodes_.at(kHub).store;
    // 1. The hub holds what every writer last wrote.
    for (const auto& [key, expected] : model_) {
      std::string got;
      if (key[0] == 'm') {
        auto m = hub.GetMember(key.substr(2));
        if (!m.ok()) {
          fail(absl::StrCat("hub lacks ", key));
          continue;
        }
        got = m->SerializeAsString();
      } else if (key[0] == 'p') {
        auto o = hub.GetOrg(key.substr(2));
        if (!o.ok()) {
          fail(absl::StrCat("hub lacks ", key));
          continue;
        }
        got = o->credit_code() + "|" + o->address();
      }
      if (got != expected)
        fail(absl::StrCat("hub holds another version of ", key));
    }
    // 2. Exactly once: no (origin, incarnation, seq) twice in the hub's log.
    auto log = hub.ReadLog(1, 1u << 30);
    if (!log.ok()) {
      fail(std::string(log.status().message()));
    } else {
      std::set<std::string> seen;
      for (const auto& c : *log) {
        if (c.origin_seq() == 0) continue;
        std::string id = absl::StrCat(c.origin(), "/", c.origin_incarnation(),
                                      "/", c.origin_seq());
        if (!seen.insert(id).second) fail(absl::StrCat("applied twice: ", id));
      }
    }
    // 3. Every node agrees with its parent on its subtree, and with the hub.
    for (auto& [id, n] : nodes_) {
      if (n.parent.empty() || !n.store->GetOrg(id).ok()) continue;
      auto mine = n.store->GetCounters(id);
      auto parents = nodes_.at(n.parent).store->GetCounters(id);
      auto hubs = hub.GetCounters(id);
      if (!mine.ok() || !parents.ok() || !hubs.ok() ||
          mine->SerializeAsString() != parents->SerializeAsString() ||
          mine->SerializeAsString() != hubs->SerializeAsString()) {
        fail(absl::StrCat("counters of ", id, " differ: node ",
                          mine.ok() ? mine->ShortDebugString() : "?",
                          " parent ",
                          parents.ok() ? parents->ShortDebugString() : "?"));
      }
    }
    // 4. Reconciliation: an open conflict for exactly each person active in
    // two unions and each dissolved union with active members; every
    // warning the hub holds about a node's subtree is at that node, as is.
    {
      std::map<std::string, std::set<std::string>> holders;  // id no -> members
      std::map<std::string, int64_t> orphans;                // org -> active
      std::set<std::string> invalid;
      auto orgs = hub.ScanOrgs("", 1u << 30);
      if (!orgs.ok()) fail(std::string(orgs.status().message()));
      for (const auto& o : orgs.ok() ? *orgs : std::vector<v1::Org>()) {
        auto members = hub.ListMembers(o.id(), "", 1u << 30);
        if (!members.ok()) continue;
        for (const auto& m : *members) {
          if (m.status() != v1::MEMBER_ACTIVE) continue;
          holders[m.id_number()].insert(m.id());
          if (o.status() == v1::ORG_DISSOLVED) ++orphans[o.id()];
          if (!ValidateMember(m).ok()) {
            invalid.insert(absl::StrCat("invalid/member/", m.id()));
          }
        }
      }
      std::set<std::string> expected = invalid;
      for (const auto& [number, ids] : holders) {
        if (ids.size() < 2) continue;
        const std::string id =
            Reconciler::PersonConflictId(hub.vault(), number);
        expected.insert(id);
        auto c = hub.GetConflict(id);
        std::set<std::string> sides;
        if (c.ok()) {
          for (const auto& side : c->sides()) sides.insert(side.member().id());
        }
        if (!c.ok() || c->state() != v1::CONFLICT_OPEN || sides != ids) {
          fail(absl::StrCat("no open conflict for a person in ", ids.size(),
                            " unions"));
        }
      }
      for (const auto& [org, n] : orphans) {
        const std::string id = absl::StrCat("orphan/", org);
        expected.insert(id);
        auto c = hub.GetConflict(id);
        if (!c.ok() || c->state() != v1::CONFLICT_OPEN) {
          fail(absl::StrCat("no open conflict for dissolved ", org));
        }
      }
      auto conflicts = hub.ScanConflicts("", 1u << 30);
      for (const auto& c :
           conflicts.ok() ? *conflicts : std::vector<v1::Conflict>()) {
        if (c.state() == v1::CONFLICT_OPEN && !expected.count(c.id())) {
          fail(absl::StrCat("conflict ", c.id(),
                            " open without cause: ", c.detail()));
        }
        ++conflicts_seen_;
      }
      auto warnings = hub.ScanWarnings("", 1u << 30);
      for (const auto& w :
           warnings.ok() ? *warnings : std::vector<v1::Warning>()) {
        for (auto& [id, n] : nodes_) {
          if (n.parent.empty()) continue;
          auto inside = hub.IsInSubtree(w.org_id(), id);
          if (!inside.ok() || !*inside) continue;
          auto there = n.store->GetWarning(w.id());
          if (!there.ok() ||
              there->SerializeAsString() != w.SerializeAsString()) {
            fail(absl::StrCat("warning ", w.id(), " did not reach ", id));
          }
        }
      }
    }
    // 5. Every parent recorded its child's audit chain head as it is, and
    // raised no alarm about a chain nobody tampered with.
    for (auto& [id, n] : nodes_) {
      if (n.parent.empty()) continue;
      auto held = nodes_.at(n.parent).view->PeerAuditHead(id);
      const AuditHead head = n.store->audit_head();
      if (!held.ok()) {
        fail(std::string(held.status().message()));
      } else if (!held->has_value() ? head.seq != 0
                                    : (*held)->seq() != head.seq ||
                                          (*held)->hash() != head.hash) {
        fail(absl::StrCat("the audit head of ", id, " recorded at ", n.parent,
                          " is at ", held->has_value() ? (*held)->seq() : 0,
                          ", the node's is at ", head.seq));
      } else if (held->has_value() && (*held)->alarms() > 0 &&
                 !audit_rewritten_.count(id)) {
        fail(absl::StrCat("audit alarm about ", id, ": ",
                          (*held)->last_alarm()));
      }
    }
    // 6. Each store's own bookkeeping.
    for (auto& [id, n] : nodes_) {
      if (!n.store->GetOrg(id).ok()) {
        // Never registered during this run: nobody may hold it.
        if (hub.GetOrg(id).ok())
          fail(absl::StrCat(id, " lacks its registration"));
        continue;
      }
      auto s = testing::CheckStoreInvariants(*n.store, id, /*replicated=*/true);
      if (!s.ok()) fail(absl::StrCat(id, ": ", s.message()));
    }
    if (!out.empty()) {
      for (auto& [child, link] : links_) {
        const auto& st = nodes_.at(child).up->stats();
        fail(absl::StrCat(
            "link ", child, ": state ", static_cast<int>(st.state), " digest ",
            static_cast<int>(st.digest), " repairs ", st.repairs, " inflight ",
            st.inflight, " sessions ", st.sessions));
      }
    }
    return out;
  }

  uint64_t members_written() const { return members_written_; }
  int64_t hub_members() {
    auto c = nodes_.at(kHub).store->GetCounters(kHub);
    return c.ok() ? c->members() : -1;
  }
  uint64_t link_breaks() const { return breaks_; }
  uint64_t conflicts_seen() const { return conflicts_seen_; }
  uint64_t restarts() const { return restarts_; }

 private:
  struct Node {
    std::string id;
    std::string parent;
    std::vector<std::string> children;
    std::unique_ptr<Store> store;
    std::unique_ptr<StoreView> view;
    std::unique_ptr<repl::LinkCore> up;
    std::map<std::string, std::unique_ptr<repl::LinkCore>> down;
    std::unique_ptr<Reconciler> reconciler;  // The hub's.
  };
  struct Link {
    bool connected = false;
    uint64_t generation = 0;
    int64_t last_delivery[2] = {0, 0};  // Per direction, for FIFO delivery.
  };
  struct Event {
    int64_t at;
    uint64_t order;
    std::function<void()> run;
    bool is_message;
    bool operator>(const Event& o) const {
      return at != o.at ? at > o.at : order > o.order;
    }
  };

  bool Chance(double p) { return (rng_() % 1'000'000) < p * 1'000'000; }

  std::string RandomNodeId() {
    auto it = nodes_.begin();
    std::advance(it, rng_() % nodes_.size());
    return it->first;
  }

  void AddNode(const std::string& id, const std::string& parent) {
    Node& n = nodes_[id];
    n.id = id;
    n.parent = parent;
    if (!parent.empty()) {
      nodes_[parent].children.push_back(id);
      links_[id];
    }
  }

  void OpenNode(Node& n) {
    StoreOptions o;
    o.path = "/sim/" + n.id;
    o.node_id = n.id;
    o.vault = testing::TestVault(n.id);
    o.clock = &clock_;
    o.env = env_.get();
    o.sync = false;  // Memory env: sync is meaningless; restarts are clean.
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    n.store = *std::move(store);
    n.view = std::make_unique<StoreView>(n.store.get());
    if (n.parent.empty()) {
      n.reconciler = std::make_unique<Reconciler>(n.store.get(), &clock_);
    }
    repl::LinkConfig config;
    config.window = 1 + rng_() % 4;
    config.max_batch_changes = 1 + rng_() % 64;
    config.scan_step = 8 + rng_() % 256;
    config.probe_interval_ms = 5'000;
    config.probe_retry_ms = 300;
    if (!n.parent.empty()) {
      n.up = std::make_unique<repl::LinkCore>(repl::Side::kChild, n.id,
                                              n.parent, n.view.get(), config);
    }
    for (const auto& c : n.children) {
      n.down[c] = std::make_unique<repl::LinkCore>(repl::Side::kParent, n.id, c,
                                                   n.view.get(), config);
    }
  }

  // Copies every file of `from` into `to` (empty `to`: deletes `from`).
  void CopyDir(const std::string& from, const std::string& to) {
    std::vector<std::string> files;
    if (!env_->GetChildren(from, &files).ok()) return;
    if (!to.empty()) ASSERT_TRUE(env_->CreateDirIfMissing(to).ok());
    for (const std::string& f : files) {
      if (f == "." || f == "..") continue;
      const std::string src = from + "/" + f;
      if (!to.empty()) {
        std::string data;
        rocksdb::Status read =
            rocksdb::ReadFileToString(env_.get(), src, &data);
        if (read.IsNotFound() || f == "LOCK")
          continue;  // Lock files: not data.
        ASSERT_TRUE(read.ok()) << src << ": " << read.ToString();
        ASSERT_TRUE(
            rocksdb::WriteStringToFile(env_.get(), data, to + "/" + f).ok());
      } else {
        ASSERT_TRUE(env_->DeleteFile(src).ok());
      }
    }
  }

  void CloseNode(Node& n) {
    n.reconciler.reset();
    n.up.reset();
    n.down.clear();
    n.view.reset();
    n.store.reset();
  }

 public:
  // Loses a node's whole store (a disk replaced): it comes back empty, with a
  // new incarnation.
  void Wipe(const std::string& id) {
    Node& n = nodes_.at(id);
    if (!n.parent.empty()) Break(id);
    for (const auto& c : n.children) Break(c);
    CloseNode(n);
    CopyDir("/sim/" + id, "");
    audit_rewritten_.insert(id);  // Its audit log is lost too.
    OpenNode(n);
  }

  // Copies a node's store files aside, as a backup taken while it runs would
  // be (the store is closed for the copy and reopened).
  void Backup(const std::string& id) {
    Node& n = nodes_.at(id);
    if (!n.parent.empty()) Break(id);
    for (const auto& c : n.children) Break(c);
    CloseNode(n);
    CopyDir("/sim/" + id, "/backup/" + id);
    OpenNode(n);
  }

  // Puts the backup back in place of the current store.
  void Restore(const std::string& id) {
    Node& n = nodes_.at(id);
    if (!n.parent.empty()) Break(id);
    for (const auto& c : n.children) Break(c);
    CloseNode(n);
    CopyDir("/sim/" + id, "");
    CopyDir("/backup/" + id, "/sim/" + id);
    audit_rewritten_.insert(id);  // Back to an older audit log.
    OpenNode(n);
  }

  // Rewrites a node's audit log while it is down (see TamperAuditLog): what
  // its parent must notice.
  void TamperAudit(
      const std::string& id,
      const std::function<void(std::vector<v1::AuditEntry>&)>& mutate) {
    Node& n = nodes_.at(id);
    if (!n.parent.empty()) Break(id);
    for (const auto& c : n.children) Break(c);
    CloseNode(n);
    ASSERT_TRUE(testing::TamperAuditLog("/sim/" + id, env_.get(), mutate,
                                        /*rechain=*/true)
                    .ok());
    audit_rewritten_.insert(id);
    OpenNode(n);
  }

  // The child's audit chain as its parent recorded it.
  v1::AuditHeadState AuditHeadAtParent(const std::string& child) {
    auto held = nodes_.at(nodes_.at(child).parent).view->PeerAuditHead(child);
    return held.ok() && held->has_value() ? **held : v1::AuditHeadState();
  }

  Store& StoreOf(const std::string& id) { return *nodes_.at(id).store; }

  int64_t Members(const std::string& node, const std::string& org) {
    auto c = nodes_.at(node).store->GetCounters(org);
    return c.ok() ? c->members() : -1;
  }

 private:
  void Restart(const std::string& id) {
    Trace(absl::StrCat(id, " restart"));
    ++restarts_;
    Node& n = nodes_.at(id);
    if (!n.parent.empty()) Break(id);
    for (const auto& c : n.children) Break(c);
    CloseNode(n);
    OpenNode(n);
  }

  repl::LinkCore& ChildEnd(const std::string& child) {
    return *nodes_.at(child).up;
  }
  repl::LinkCore& ParentEnd(const std::string& child) {
    return *nodes_.at(nodes_.at(child).parent).down.at(child);
  }

  void Schedule(int64_t at, std::function<void()> run,
                bool is_message = false) {
    events_.push(Event{at, order_++, std::move(run), is_message});
  }

  void RunFor(int64_t ms) {
    const int64_t until = clock_.NowMs() + ms;
    while (!events_.empty() && events_.top().at <= until) {
      Event e = events_.top();
      events_.pop();
      clock_.SetMs(std::max(clock_.NowMs(), e.at));
      e.run();
    }
    clock_.SetMs(until);
    // Ticks: every core, every 100 ms of simulated time.
    if (until - last_tick_ >= 100) {
      last_tick_ = until;
      for (auto& [id, n] : nodes_) {
        if (n.up) {
          n.up->Tick(until);
          Pump(id, "", *n.up);
        }
        for (auto& [c, core] : n.down) {
          core->Tick(until);
          Pump(id, c, *core);
        }
      }
    }
  }

  // Drives one core: persists, then sends. `child` is the link's child when
  // `core` is a parent end, "" for a node's uplink.
  void Pump(const std::string& node_id, const std::string& child,
            repl::LinkCore& core) {
    Node& n = nodes_.at(node_id);
    const std::string link_child = child.empty() ? node_id : child;
    for (int guard = 0; guard < 10'000; ++guard) {
      repl::Ready r = core.TakeReady(clock_.NowMs());
      const bool had_work = r.apply.has_value() || !r.send.empty() ||
                            !r.close.ok() || r.audit_head.has_value();
      if (r.apply.has_value()) {
        auto outcome = ApplyToStore(*n.store, std::move(*r.apply));
        ASSERT_TRUE(outcome.ok()) << outcome.status();
        core.Applied(outcome, clock_.NowMs());
      }
      if (r.audit_head.has_value()) {
        ASSERT_TRUE(
            RecordAuditHead(*n.store, *r.audit_head, clock_.NowMs()).ok());
      }
      for (auto& m : r.send) Send(link_child, child.empty(), std::move(m));
      if (r.new_incarnation) {
        ASSERT_TRUE(n.store->StartNewIncarnation().ok());
      }
      if (!r.close.ok()) {
        // Like a gRPC stream finished after its last writes: what was sent
        // before the close is still delivered, then the link breaks.
        Link& link = links_.at(link_child);
        const int dir = child.empty() ? 0 : 1;
        const uint64_t generation = link.generation;
        const int64_t at =
            std::max(clock_.NowMs(), link.last_delivery[dir]) + 1;
        Schedule(at, [this, link_child, generation] {
          if (links_.at(link_child).generation == generation) Break(link_child);
        });
        return;
      }
      if (!had_work && !core.HasReady()) return;
    }
    FAIL() << "pump did not settle";
  }

  void Trace(const std::string& what) {
    if (trace_) {
      std::printf("%lld %s\n",
                  static_cast<long long>(clock_.NowMs() % 1'000'000),
                  what.c_str());
    }
  }

  void Send(const std::string& child, bool to_parent, v1::LinkMessage m) {
    Link& link = links_.at(child);
    Trace(absl::StrCat(child, to_parent ? " up " : " down ",
                       link.connected ? "" : "(dropped: not connected) ",
                       m.ShortDebugString().substr(0, 120)));
    if (!link.connected) return;
    if (!healing_ && Chance(faults_.p_break)) {
      Break(child);
      return;
    }
    int copies = !healing_ && Chance(faults_.p_dup) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      int64_t delay = 1 + rng_() % 20;
      int64_t at = clock_.NowMs() + delay;
      int dir = to_parent ? 0 : 1;
      // A stream is FIFO; a reordered message breaks that on purpose.
      if (healing_ || !Chance(faults_.p_reorder)) {
        at = std::max(at, link.last_delivery[dir]);
      } else {
        at = clock_.NowMs() + 1;
      }
      link.last_delivery[dir] = std::max(link.last_delivery[dir], at);
      const uint64_t generation = link.generation;
      ++messages_in_flight_;
      Schedule(
          at,
          [this, child, to_parent, m, generation] {
            --messages_in_flight_;
            Link& l = links_.at(child);
            if (!l.connected || l.generation != generation) return;
            Node& c = nodes_.at(child);
            if (to_parent) {
              ParentEnd(child).Step(m, clock_.NowMs());
              Pump(c.parent, child, ParentEnd(child));
            } else {
              ChildEnd(child).Step(m, clock_.NowMs());
              Pump(child, "", ChildEnd(child));
            }
          },
          true);
    }
  }

  void Break(const std::string& child) {
    Link& link = links_.at(child);
    Trace(absl::StrCat(child, " break"));
    if (!link.connected) return;
    ++breaks_;
    link.connected = false;
    ++link.generation;
    ChildEnd(child).Disconnect();
    ParentEnd(child).Disconnect();
    Schedule(clock_.NowMs() + 50 + rng_() % 500,
             [this, child] { Reconnect(child); });
  }

  void Reconnect(const std::string& child) {
    Link& link = links_.at(child);
    if (link.connected) return;
    link.connected = true;
    ++link.generation;
    link.last_delivery[0] = link.last_delivery[1] = clock_.NowMs();
    const std::string parent = nodes_.at(child).parent;
    ParentEnd(child).Connect(clock_.NowMs());
    ChildEnd(child).Connect(clock_.NowMs());
    Pump(parent, child, ParentEnd(child));
    Pump(child, "", ChildEnd(child));
  }

  // --- Workload: the writes the Admin API would make -----------------------

  void Commit(const std::string& node, WriteSet& w) {
    // Every write is audited, as the Admin API does.
    v1::AuditEntry e;
    e.set_actor("sim");
    e.set_actor_org(node);
    e.set_action("Write");
    e.set_outcome(v1::AUDIT_OK);
    w.Audit(e);
    auto r = nodes_.at(node).store->Commit(w, "sim");
    ASSERT_TRUE(r.ok()) << node << ": " << r.status();
    for (const auto& c : r->changes) Model(c);
  }

  void Model(const v1::Change& c) {
    if (c.kind() == v1::PUT_MEMBER) {
      model_[absl::StrCat("m/", c.member().id())] =
          c.member().SerializeAsString();
    } else if (c.kind() == v1::PUT_ORG_PROFILE) {
      model_[absl::StrCat("p/", c.org().id())] =
          c.org().credit_code() + "|" + c.org().address();
    }
  }

  v1::Org NewOrg(const std::string& id, const std::string& parent,
                 v1::OrgKind kind, int tier, const std::string& host,
                 const std::string& region = "",
                 const std::string& system = "") {
    v1::Org o;
    o.set_region(region);
    o.set_system(system);
    o.set_id(id);
    o.set_parent_id(parent);
    o.set_name(absl::StrCat("工会", id));
    o.set_kind(kind);
    o.set_tier(tier);
    o.set_status(v1::ORG_ACTIVE);
    o.set_host_node(host);
    return o;
  }

  v1::Account NewAccount(const std::string& user, const std::string& org,
                         const std::string& author) {
    v1::Account a;
    a.set_username(user);
    a.set_org_id(org);
    a.set_role(v1::DATA_ADMIN);
    a.set_state(v1::CREDENTIAL_INITIAL);
    a.set_password_hash("scrypt$test");
    a.set_credential_epoch(1);
    a.set_credential_author_org(author);
    return a;
  }

  void BootstrapTree() {
    WriteSet w;
    w.PutOrg(NewOrg(kHub, "", v1::CITY_FEDERATION, 1, kHub));
    w.PutAccount(NewAccount("admin", kHub, kHub));
    for (const char* d : {"d1", "d2"}) {
      w.PutOrg(NewOrg(d, kHub, v1::DISTRICT_FEDERATION, 2, d,
                      std::string(d) == "d1" ? "430102" : "430103"));
      w.PutAccount(NewAccount(absl::StrCat(d, "admin"), d, kHub));
    }
    Commit(kHub, w);
    for (auto& [child, link] : links_) Reconnect(child);
  }

  // Organisations hosted at `node` that its store holds.
  std::vector<v1::Org> Hosted(const std::string& node, bool grassroots_only) {
    std::vector<v1::Org> out;
    Store& s = *nodes_.at(node).store;
    std::vector<std::string> pending = {node};
    while (!pending.empty()) {
      auto org = s.GetOrg(pending.back());
      pending.pop_back();
      if (!org.ok()) continue;
      if (org->host_node() == node &&
          (!grassroots_only || org->kind() == v1::INDEPENDENT_GRASSROOTS)) {
        out.push_back(*org);
      }
      auto children = s.ListChildren(org->id(), "", 1000);
      if (!children.ok()) continue;
      for (const auto& c : *children) pending.push_back(c.id());
    }
    return out;
  }

  void Workload() {
    const std::string node = RandomNodeId();
    Store& s = *nodes_.at(node).store;
    if (!s.GetOrg(node).ok()) return;  // Registration not here yet.
    int op = rng_() % 100;
    for (const auto& child_node : nodes_.at(node).children) {
      if (!s.GetOrg(child_node).ok() && rng_() % 3 == 0) op = 0;
    }
    WriteSet w;
    if (op < 12) {
      // Register a child: a tier-3 node under a district (once), or a
      // grassroots union hosted here.
      auto own = s.GetOrg(node);
      const int tier = own->tier() + 1;
      if (tier > 4) return;
      for (const auto& child_node : nodes_.at(node).children) {
        if (!s.GetOrg(child_node).ok() && tier == 3) {
          w.PutOrg(NewOrg(child_node, node, v1::TOWNSHIP_FEDERATION, 3,
                          child_node, own->region()));
          w.PutAccount(
              NewAccount(absl::StrCat(child_node, "admin"), child_node, node));
          Commit(node, w);
          return;
        }
      }
      const std::string id = absl::StrCat(node, ".g", ++org_counter_);
      static const char* kSystems[] = {"", "education", "health", "transport"};
      w.PutOrg(NewOrg(id, node, v1::INDEPENDENT_GRASSROOTS, tier, node,
                      own->region(), kSystems[rng_() % 4]));
      w.PutAccount(NewAccount(absl::StrCat("u", org_counter_), id, node));
      Commit(node, w);
      return;
    }
    std::vector<v1::Org> leaves = Hosted(node, true);
    if (op < 60) {
      if (leaves.empty()) return;
      const v1::Org& org = leaves[rng_() % leaves.size()];
      v1::Member m = gen_.Member(org.id());
      m.set_id(absl::StrCat(node, "-m", ++member_counter_));
      m.set_id_number(
          UniqueIdNumber((seed_ % 1000) * 10'000 + member_counter_));
      // Sometimes a person another node already entered: one person in two
      // unions, for the hub to reconcile. (A node refuses a person active in
      // its own store, so only people it does not hold.)
      if (!used_ids_.empty() && rng_() % 8 == 0) {
        const auto& [other, id_number] = used_ids_[rng_() % used_ids_.size()];
        auto held = s.MembersWithIdNumber(id_number);
        if (other != node && held.ok() && held->empty()) {
          m.set_id_number(id_number);
        }
      }
      used_ids_.emplace_back(node, m.id_number());
      m.set_gender((m.id_number()[16] - '0') % 2 == 1 ? v1::MALE : v1::FEMALE);
      m.set_status(v1::MEMBER_ACTIVE);
      w.PutMember(m);
      hosted_members_[node].push_back(m.id());
      ++members_written_;
      Commit(node, w);
      return;
    }
    if (op < 85) {
      auto& ids = hosted_members_[node];
      if (ids.empty()) return;
      auto m = s.GetMember(ids[rng_() % ids.size()]);
      ASSERT_TRUE(m.ok()) << m.status();
      if (op < 70) {
        m->set_workplace(absl::StrCat("单位", rng_() % 1000));
      } else if (op < 78 && leaves.size() > 1) {
        m->set_org_id(leaves[rng_() % leaves.size()].id());
      } else {
        if (m->status() != v1::MEMBER_ACTIVE) {
          // Back only when nobody here holds the person meanwhile.
          auto held = s.MembersWithIdNumber(m->id_number());
          if (!held.ok() || !held->empty()) return;
        }
        m->set_status(m->status() == v1::MEMBER_ACTIVE ? v1::MEMBER_REMOVED
                                                       : v1::MEMBER_ACTIVE);
      }
      w.PutMember(*m);
      Commit(node, w);
      return;
    }
    if (op < 88) {
      // The registering node dissolves a union (or restores it): its members
      // stay until moved, which the hub reports.
      if (leaves.empty()) return;
      v1::Org org = leaves[rng_() % leaves.size()];
      org.set_status(org.status() == v1::ORG_ACTIVE ? v1::ORG_DISSOLVED
                                                    : v1::ORG_ACTIVE);
      w.PutOrg(org);
      Commit(node, w);
      return;
    }
    if (op < 93) {
      std::vector<v1::Org> hosted = Hosted(node, false);
      if (hosted.empty()) return;
      v1::Org org = hosted[rng_() % hosted.size()];
      v1::Org p = gen_.GrassrootsProfile();
      org.set_credit_code(p.credit_code());
      org.set_address(absl::StrCat("地址", rng_() % 1000));
      w.PutOrgProfile(org);
      Commit(node, w);
      return;
    }
    // Accounts: the holder changes a password, or an ancestor resets it.
    auto accounts = s.ListAccounts(node);
    if (!accounts.ok() || accounts->empty()) return;
    v1::Account a = accounts->front();
    a.set_credential_epoch(a.credential_epoch() + 1);
    a.set_state(v1::CREDENTIAL_ACTIVE);
    a.set_credential_author_org(node);
    a.set_password_hash(absl::StrCat("scrypt$", rng_()));
    w.PutAccount(a);
    Commit(node, w);
    const std::string parent = nodes_.at(node).parent;
    if (!parent.empty() && rng_() % 2 == 0) {
      auto theirs = nodes_.at(parent).store->GetAccount(a.username());
      if (!theirs.ok()) return;
      v1::Account reset = *theirs;
      reset.set_credential_epoch(reset.credential_epoch() + 1);
      reset.set_state(v1::CREDENTIAL_RESET);
      reset.set_credential_author_org(parent);
      WriteSet r;
      r.PutAccount(reset);
      Commit(parent, r);
    }
  }

  const uint64_t seed_;
  std::mt19937_64 rng_;
  SynthGenerator gen_;
  const Faults faults_;
  std::unique_ptr<rocksdb::Env> env_;
  FakeClock clock_;
  std::map<std::string, Node> nodes_;
  std::map<std::string, Link> links_;  // By child id.
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t order_ = 0;
  int64_t last_tick_ = 0;
  int64_t messages_in_flight_ = 0;
  bool healing_ = false;
  const bool trace_ = std::getenv("UNIONSYNC_SIM_TRACE") != nullptr;
  int64_t healed_at_ = 0;
  std::map<std::string, std::string> model_;
  std::set<std::string> audit_rewritten_;  // Nodes whose audit log changed.
  std::map<std::string, std::vector<std::string>> hosted_members_;
  std::vector<std::pair<std::string, std::string>> used_ids_;  // node, id no.
  uint64_t org_counter_ = 0;
  uint64_t member_counter_ = 0;
  uint64_t members_written_ = 0;
  uint64_t breaks_ = 0;
  uint64_t conflicts_seen_ = 0;
  uint64_t restarts_ = 0;
};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string RunSeed(uint64_t seed, Faults faults, int steps) {
  Sim sim(seed, faults);
  sim.Run(steps);
  if (::testing::Test::HasFatalFailure()) return "fatal failure";
  std::string problems = sim.Check();
  if (!problems.empty()) {
    return absl::StrCat("seed ", seed, " (", sim.members_written(),
                        " members, ", sim.link_breaks(), " link breaks, ",
                        sim.restarts(), " restarts):\n", problems,
                        "replay: UNIONSYNC_SIM_SEED=", seed,
                        " tests/repl/repl_sim_test --gtest_filter='*One*'");
  }
  return "";
}

TEST(ReplicationSimTest, OneSeed) {
  const uint64_t seed = EnvOr("UNIONSYNC_SIM_SEED", 1);
  Sim sim(seed, Faults());
  sim.Run(EnvOr("UNIONSYNC_SIM_STEPS", 200));
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(sim.Check(), "");
  // The run must have exercised something worth checking.
  EXPECT_GT(sim.members_written(), 20u);
  EXPECT_GT(sim.link_breaks(), 0u);
  EXPECT_GT(sim.conflicts_seen(), 0u);
  ::testing::Test::RecordProperty("members", sim.members_written());
  std::printf(
      "seed %llu: %llu members written, %llu link breaks, %llu restarts, "
      "hub holds %lld members\n",
      static_cast<unsigned long long>(seed),
      static_cast<unsigned long long>(sim.members_written()),
      static_cast<unsigned long long>(sim.link_breaks()),
      static_cast<unsigned long long>(sim.restarts()),
      static_cast<long long>(sim.hub_members()));
}

// A node whose disk is lost comes back empty with a new incarnation; its
// parent restores its subtree from the copy it holds (digest comparison,
// narrowing, repair snapshots), and nothing is lost anywhere.
TEST(ReplicationSimTest, WipedStoreIsRestoredFromItsParent) {
  for (uint64_t seed : {11, 12, 13}) {
    SCOPED_TRACE(seed);
    Sim sim(seed, Faults{0, 0, 0, 0});
    sim.Bootstrap();
    sim.Work(250);
    sim.Heal();
    ASSERT_EQ(sim.Check(), "");
    const int64_t before = sim.Members("d1", "t1");
    ASSERT_GT(before, 0);
    sim.Wipe("t1");
    EXPECT_EQ(sim.Members("t1", "t1"), 0);
    sim.Heal();
    EXPECT_EQ(sim.Check(), "");
    EXPECT_EQ(sim.Members("t1", "t1"), before);
    // And it keeps working afterwards.
    sim.Work(100);
    sim.Heal();
    EXPECT_EQ(sim.Check(), "");
  }
}

// A node restored from an old backup would reuse sequence numbers its parent
// already applied; the parent detects it at the handshake, the node starts a
// new incarnation, gets the newer versions back by repair, and new writes flow.
TEST(ReplicationSimTest, StoreRestoredFromOldBackupStartsNewIncarnation) {
  for (uint64_t seed : {21, 22, 23}) {
    SCOPED_TRACE(seed);
    Sim sim(seed, Faults{0, 0, 0, 0});
    sim.Bootstrap();
    sim.Work(150);
    sim.Heal();
    ASSERT_EQ(sim.Check(), "");
    sim.Backup("t1");
    sim.Work(200);
    sim.Heal();
    ASSERT_EQ(sim.Check(), "");
    const int64_t latest = sim.Members("d1", "t1");
    sim.Restore("t1");
    sim.Heal();
    EXPECT_EQ(sim.Check(), "");
    EXPECT_EQ(sim.Members("t1", "t1"), latest);
    sim.Work(100);
    sim.Heal();
    EXPECT_EQ(sim.Check(), "");
  }
}

// Someone with access to a node's files rewrites its audit log consistently
// (hashes recomputed, so the node's own verification passes) or cuts its
// newest entries: the parent, which holds the chain head the node reported
// before, raises an alarm (audited; a warning at the hub), and from then on
// checks the rewritten chain.
TEST(ReplicationSimTest, RewrittenAuditLogRaisesAnAlarmAtTheParent) {
  for (uint64_t seed : {31, 32}) {
    SCOPED_TRACE(seed);
    Sim sim(seed, Faults{0, 0, 0, 0});
    sim.Bootstrap();
    sim.Work(150);
    sim.Heal();
    ASSERT_EQ(sim.Check(), "");
    ASSERT_EQ(sim.AuditHeadAtParent("t1").alarms(), 0u);
    ASSERT_GT(sim.AuditHeadAtParent("t1").seq(), 3u);

    // 1. One old entry of t1 changed, the chain recomputed.
    sim.TamperAudit("t1", [](std::vector<v1::AuditEntry>& entries) {
      entries[2].set_detail("nothing happened here");
    });
    auto local = sim.StoreOf("t1").VerifyAuditChain();
    ASSERT_TRUE(local.ok());
    EXPECT_FALSE(local->has_value());  // Consistent in itself.
    sim.Heal();
    EXPECT_EQ(sim.Check(), "");
    EXPECT_EQ(sim.AuditHeadAtParent("t1").alarms(), 1u);
    EXPECT_THAT(sim.AuditHeadAtParent("t1").last_alarm(),
                ::testing::HasSubstr("rewritten"));
    // Once raised, the parent checks the chain as it is now: new work adds
    // no alarm.
    sim.Work(50);
    sim.Heal();
    EXPECT_EQ(sim.Check(), "");
    EXPECT_EQ(sim.AuditHeadAtParent("t1").alarms(), 1u);

    // 2. The newest entries of d1 cut off: the hub notices and warns.
    sim.TamperAudit("d1", [](std::vector<v1::AuditEntry>& entries) {
      entries.resize(entries.size() - 2);
    });
    sim.Heal();
    EXPECT_EQ(sim.Check(), "");
    EXPECT_EQ(sim.AuditHeadAtParent("d1").alarms(), 1u);
    EXPECT_THAT(sim.AuditHeadAtParent("d1").last_alarm(),
                ::testing::HasSubstr("audit log of node d1"));
    auto warning = sim.StoreOf(kHub).GetWarning("audit/d1");
    ASSERT_TRUE(warning.ok()) << warning.status();
    EXPECT_EQ(warning->kind(), v1::AUDIT_CHAIN_BROKEN);
    EXPECT_TRUE(warning->open());
    auto hub_audit = sim.StoreOf(kHub).ReadAudit(1, 1u << 30);
    ASSERT_TRUE(hub_audit.ok());
    int alarms = 0;
    for (const auto& e : *hub_audit) {
      alarms += e.action() == "AuditChainAlarm" && e.target() == "node/d1";
    }
    EXPECT_EQ(alarms, 1);
    // The warning reached d1 with the rest (Check, 4), and t1's parent d1
    // still holds t1's alarm.
    EXPECT_EQ(sim.AuditHeadAtParent("t1").alarms(), 1u);
  }
}

TEST(ReplicationSimTest, NoFaultsConverges) {
  Faults none{0, 0, 0, 0};
  EXPECT_EQ(RunSeed(7, none, 300), "");
}

// Shards of seeds, so ctest runs them in parallel.
class ReplicationSimShard : public ::testing::TestWithParam<int> {};

TEST_P(ReplicationSimShard, SeedsHoldInvariants) {
  const uint64_t per_shard = EnvOr("UNIONSYNC_SIM_SEEDS", 125);
  for (uint64_t i = 0; i < per_shard; ++i) {
    const uint64_t seed = 1000 + GetParam() * 100'000 + i;
    std::string r = RunSeed(seed, Faults(), 200);
    ASSERT_EQ(r, "");
  }
}

INSTANTIATE_TEST_SUITE_P(Shards, ReplicationSimShard, ::testing::Range(0, 8));

}  // namespace
}  // namespace unionsync
