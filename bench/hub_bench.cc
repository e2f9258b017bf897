// The city hub at full size (issue "City hub"; results in docs/BENCHMARKS.md,
// "Hub (issue 4)"). A hub store receives a whole campaign the way the nine
// district nodes replicate it: townships, --grassroots unions (registration,
// profile, data administrator accounts, some activated) and --members members,
// in batches of --batch changes with each district's origin, through
// Store::ApplyReplicated. Then it measures:
//
//   apply     records/s of the load with the progress aggregates on and the
//             Reconciler running on its own thread (as the hub runs it), and
//             how far behind the reconciler ends; against the same load into
//             a store with progress off and no reconciler ("baseline", run
//             first in a forked child process so that this process's memory
//             figures are the hub's own);
//   progress  Monitor::GetProgress, views "city", "regions" and "systems", in
//             process and over gRPC MonitorService, p50 / p99;
//   workbench the progress page as a browser loads it, over HTTP
//             (bench/web_load.h), p50 / p99;
//   memory    VmRSS and VmHWM of this process (/proc/self/status).
//
// After the load the store is closed and reopened by a NodeServer with
// hub = true (Monitor, reconciler, warning evaluator, gRPC, dashboard), as
// unionsync-hub runs. The hub's clock reads 2020-06-30 09:00 (UTC+8) plus the
// real time elapsed, the day after the campaign's last entries; all data is
// synthetic (synth/).
//
//   build-bench/bench/hub_bench --dir=/tmp/unionsync_bench/hub
//   build-bench/bench/hub_bench --grassroots=2000 --members=200000
//
// --run picks the loads: "baseline" (progress off, no reconciler), "progress"
// (progress on, no reconciler) and "hub" (progress on, reconciler; then the
// queries), default "baseline,hub". The hub runs last, in this process.
#include <httplib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "bench/web_load.h"
#include "common/clock.h"
#include "common/org_rules.h"
#include "common/password.h"
#include "grpcpp/grpcpp.h"
#include "monitor/campaign.h"
#include "monitor/evaluator.h"
#include "monitor/monitor.h"
#include "monitor/reconciler.h"
#include "node/admin.h"
#include "node/node_server.h"
#include "store/store.h"
#include "synth/synth.h"
#include "testing/test_vault.h"
#include "unionsync/v1/monitor.grpc.pb.h"

ABSL_FLAG(int64_t, grassroots, 20000, "Grassroots unions.");
ABSL_FLAG(int64_t, members, 2000000,
          "Members (about members/grassroots each).");
ABSL_FLAG(int, queries, 1000, "Timed GetProgress calls per view and path.");
ABSL_FLAG(int, page_loads, 200,
          "Timed dashboard page loads (each: GET /, assets, JSON calls).");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_hub_bench",
          "Scratch directory (wiped at start).");
ABSL_FLAG(int, batch, 1000, "Changes per replicated batch.");
ABSL_FLAG(int, townships, 20, "Township federations per region.");
ABSL_FLAG(int, activated_percent, 85,
          "Grassroots unions whose data administrator changed the initial "
          "password.");
ABSL_FLAG(int, complete_percent, 90,
          "Grassroots unions that completed their profile.");
ABSL_FLAG(int, duplicate_per_mille, 1,
          "Members whose ID number is another member's (DUPLICATE_PERSON "
          "conflicts for the reconciler).");
ABSL_FLAG(std::string, run, "baseline,hub",
          "Loads to run, in order: baseline, progress, hub.");
ABSL_FLAG(bool, keep, false, "Keep the hub's store in --dir at the end.");

namespace unionsync {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr char kHub[] = "430100";
constexpr char kAdminPassword[] = "Bench-Passw0rd-2020";
constexpr char kFakeHash[] = "scrypt$bench$not-a-password-hash";

double Seconds(SteadyClock::time_point since) {
  return std::chrono::duration<double>(SteadyClock::now() - since).count();
}
double Ms(SteadyClock::time_point since) { return 1000 * Seconds(since); }

// CPU time of the calling thread, and of the whole process, in ms.
double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
double ProcessCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void Die(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "hub_bench: %s: %s\n", what.c_str(),
               s.ToString().c_str());
  std::exit(1);
}

int64_t ChinaMs(absl::CivilMinute t) {
  return absl::ToUnixMillis(absl::FromCivil(t, absl::FixedTimeZone(8 * 3600)));
}

// The system clock moved to `base` when SetBase was called: the hub's clock
// runs in real time, in the campaign's calendar.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(int64_t base_ms) { SetBase(base_ms); }
  void SetBase(int64_t base_ms) {
    base_ms_.store(base_ms);
    origin_ns_.store(SteadyClock::now().time_since_epoch().count());
  }
  int64_t NowMs() const override {
    const int64_t elapsed_ns =
        SteadyClock::now().time_since_epoch().count() - origin_ns_.load();
    return base_ms_.load() + elapsed_ns / 1'000'000;
  }

 private:
  std::atomic<int64_t> base_ms_{0};
  std::atomic<int64_t> origin_ns_{0};
};

// VmRSS and VmHWM of this process in MiB.
struct Memory {
  double rss_mib = 0;
  double hwm_mib = 0;
};
Memory ReadMemory() {
  Memory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    int64_t kb = 0;
    auto value = [&](absl::string_view key) {
      if (!absl::StartsWith(line, key)) return false;
      std::string v(
          absl::StripSuffix(absl::StripAsciiWhitespace(
                                absl::string_view(line).substr(key.size())),
                            " kB"));
      return absl::SimpleAtoi(v, &kb);
    };
    if (value("VmRSS:")) m.rss_mib = kb / 1024.0;
    if (value("VmHWM:")) m.hwm_mib = kb / 1024.0;
  }
  return m;
}
std::string MemoryText(const Memory& m) {
  return absl::StrFormat("VmRSS %.0f MiB, VmHWM %.0f MiB", m.rss_mib,
                         m.hwm_mib);
}

// splitmix64: a bijection of uint64, for ids that look random.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// A member id as nodes make them (24 hex); distinct for distinct n.
std::string MemberId(uint64_t n) {
  return absl::StrFormat("%016x%08x", Mix(n), Mix(n ^ 0x5bd1e995) & 0xffffffff);
}

// ---------------------------------------------------------------------------
// The city to load.

struct Union {
  int region = 0;
  int township = 0;
  int system = 0;
  v1::OrgKind kind = v1::INDEPENDENT_GRASSROOTS;
  int64_t members = 0;
  int64_t first_member = 0;  // Global index of its first member.
  bool complete = false;
  bool activated = false;
};

struct Plan {
  int64_t grassroots = 0;
  int64_t members = 0;
  int townships = 0;
  int duplicate_per_mille = 0;
  std::vector<Union> unions;
  std::vector<std::vector<int64_t>> by_region;  // Union indices.
  std::vector<int64_t> region_unions, region_members;
  std::vector<int64_t> system_unions, system_members;
};

// Region shares of the unions (per cent), urban districts larger.
constexpr int kRegionWeights[] = {12, 10, 13, 11, 14, 8, 13, 10, 9};

Plan MakePlan() {
  Plan p;
  p.grassroots = absl::GetFlag(FLAGS_grassroots);
  p.members = absl::GetFlag(FLAGS_members);
  p.townships = absl::GetFlag(FLAGS_townships);
  p.duplicate_per_mille = absl::GetFlag(FLAGS_duplicate_per_mille);
  const int activated = absl::GetFlag(FLAGS_activated_percent);
  const int complete = absl::GetFlag(FLAGS_complete_percent);
  const size_t regions = ChangshaRegions().size();
  const size_t systems = IndustrySystems().size();
  p.by_region.resize(regions);
  p.region_unions.assign(regions, 0);
  p.region_members.assign(regions, 0);
  p.system_unions.assign(systems, 0);
  p.system_members.assign(systems, 0);
  SynthGenerator gen(7);
  std::vector<int64_t> weight;
  int64_t total_weight = 0;
  for (int64_t i = 0; i < p.grassroots; ++i) {
    Union u;
    int pick = static_cast<int>(gen.Uniform(100));
    while (pick >= kRegionWeights[u.region]) pick -= kRegionWeights[u.region++];
    u.township = static_cast<int>(gen.Uniform(p.townships));
    u.system = static_cast<int>(gen.Uniform(systems));
    u.kind = gen.Chance(30) ? v1::JOINT_GRASSROOTS : v1::INDEPENDENT_GRASSROOTS;
    u.complete = gen.Chance(complete);
    u.activated = gen.Chance(activated);
    weight.push_back(20 + static_cast<int64_t>(gen.Uniform(161)));  // Mean 100.
    total_weight += weight.back();
    p.unions.push_back(u);
    p.by_region[u.region].push_back(i);
  }
  // Members in proportion of the weights, exactly --members in all.
  int64_t cumulative = 0, assigned = 0;
  for (int64_t i = 0; i < p.grassroots; ++i) {
    cumulative += weight[i];
    const int64_t upto = static_cast<int64_t>(
        static_cast<__int128>(cumulative) * p.members / total_weight);
    Union& u = p.unions[i];
    u.first_member = assigned;
    u.members = upto - assigned;
    assigned = upto;
    p.region_unions[u.region]++;
    p.region_members[u.region] += u.members;
    p.system_unions[u.system]++;
    p.system_members[u.system] += u.members;
  }
  return p;
}

std::string TownshipId(int region, int township) {
  return absl::StrFormat("%s.%02d", ChangshaRegions()[region].code,
                         township + 1);
}
std::string UnionId(const Plan& plan, int64_t i) {
  const Union& u = plan.unions[i];
  return absl::StrFormat("%s.%05d", TownshipId(u.region, u.township), i);
}
std::string Username(absl::string_view org_id) {
  return absl::StrCat("u", absl::StrReplaceAll(org_id, {{".", "-"}}));
}

v1::Org MakeOrg(const std::string& id, const std::string& parent,
                const std::string& name, v1::OrgKind kind, int tier,
                const std::string& region, const std::string& system,
                const std::string& host, int64_t ms) {
  v1::Org o;
  o.set_id(id);
  o.set_parent_id(parent);
  o.set_name(name);
  o.set_kind(kind);
  o.set_tier(tier);
  o.set_region(region);
  o.set_system(system);
  o.set_status(v1::ORG_ACTIVE);
  o.set_host_node(host);
  o.set_created_at_ms(ms);
  return o;
}

v1::Account MakeAccount(const std::string& org, bool active,
                        const std::string& author, int64_t ms) {
  v1::Account a;
  a.set_username(Username(org));
  a.set_org_id(org);
  a.set_role(v1::DATA_ADMIN);
  a.set_state(active ? v1::CREDENTIAL_ACTIVE : v1::CREDENTIAL_INITIAL);
  a.set_password_hash(kFakeHash);
  a.set_credential_epoch(active ? 2 : 1);
  a.set_credential_author_org(author);
  a.set_created_at_ms(ms);
  a.set_updated_at_ms(ms);
  return a;
}

// Campaign calendar (UTC+8): 80% of the unions registered by 2019-12-31, all
// by the end of June 2020, as R8's trajectory asks.
const int64_t kSetupMs = ChinaMs(absl::CivilMinute(2019, 9, 1, 9, 0));
const int64_t kTownshipsMs = ChinaMs(absl::CivilMinute(2019, 9, 1, 10, 0));
const int64_t kStartMs = ChinaMs(absl::CivilMinute(2019, 9, 2, 9, 0));
const int64_t kMidMs = ChinaMs(absl::CivilMinute(2019, 12, 31, 18, 0));
const int64_t kEndMs = ChinaMs(absl::CivilMinute(2020, 6, 29, 18, 0));
const int64_t kHubNowMs = ChinaMs(absl::CivilMinute(2020, 6, 30, 9, 0));

int64_t CampaignTime(double f) {
  if (f <= 0.8)
    return kStartMs + static_cast<int64_t>(f / 0.8 * (kMidMs - kStartMs));
  return kMidMs + static_cast<int64_t>((f - 0.8) / 0.2 * (kEndMs - kMidMs));
}

// The changes one district node writes, in its log order: its townships,
// then union after union: registration, account, profile, activation and the
// members, in time order over the campaign.
class DistrictStream {
 public:
  DistrictStream(const Plan* plan, int region)
      : plan_(plan),
        region_(region),
        code_(ChangshaRegions()[region].code),
        gen_(1000 + region) {
    for (int t = 0; t < plan_->townships; ++t) {
      const int64_t ms = kTownshipsMs + t * 60'000;
      const std::string id = TownshipId(region_, t);
      Push(ms,
           PutOrg(MakeOrg(id, code_,
                          absl::StrCat(ChangshaRegions()[region_].name, "第",
                                       t + 1, "街道工会联合会"),
                          v1::TOWNSHIP_FEDERATION, 3, code_, "", code_, ms)));
      // The district creates the township's administrator, who then
      // changes the initial password.
      Push(ms + 1, PutAccount(MakeAccount(id, false, code_, ms + 1)));
      Push(ms + 2, PutAccount(MakeAccount(id, true, id, ms + 2)));
    }
  }

  const std::string& code() const { return code_; }
  bool done() {
    Fill();
    return next_ >= buffer_.size();
  }
  int64_t next_ms() {
    Fill();
    return buffer_[next_].first;
  }
  v1::Change Next(int64_t* ms) {
    Fill();
    *ms = buffer_[next_].first;
    return std::move(buffer_[next_++].second);
  }

 private:
  static v1::Change PutOrg(v1::Org o) {
    v1::Change c;
    c.set_kind(v1::PUT_ORG);
    *c.mutable_org() = std::move(o);
    return c;
  }
  static v1::Change PutAccount(v1::Account a) {
    v1::Change c;
    c.set_kind(v1::PUT_ACCOUNT);
    *c.mutable_account() = std::move(a);
    return c;
  }
  void Push(int64_t ms, v1::Change c) {
    buffer_.emplace_back(ms, std::move(c));
  }

  // Refills the buffer with the next union's changes once it is used up.
  void Fill() {
    const std::vector<int64_t>& mine = plan_->by_region[region_];
    while (next_ >= buffer_.size() && union_ < mine.size()) {
      buffer_.clear();
      next_ = 0;
      const double n = static_cast<double>(mine.size());
      const int64_t from = CampaignTime(union_ / n);
      const int64_t to = CampaignTime((union_ + 1) / n);
      AddUnion(mine[union_], from, to);
      ++union_;
    }
  }

  void AddUnion(int64_t index, int64_t from, int64_t to) {
    const Union& u = plan_->unions[index];
    const std::string id = UnionId(*plan_, index);
    const std::string parent = TownshipId(u.region, u.township);
    const IndustrySystem& system = IndustrySystems()[u.system];
    v1::Org profile = gen_.GrassrootsProfile();
    v1::Org reg = MakeOrg(id, parent, profile.name(), u.kind, 4, code_,
                          system.code, code_, from);
    Push(from, PutOrg(reg));
    Push(from + 1, PutAccount(MakeAccount(id, false, parent, from + 1)));
    if (u.complete) {
      profile.set_id(id);
      profile.set_profile_completeness(ProfileCompleteness(profile));
      profile.set_updated_at_ms(from + 2);
      v1::Change c;
      c.set_kind(v1::PUT_ORG_PROFILE);
      *c.mutable_org() = std::move(profile);
      Push(from + 2, std::move(c));
    }
    if (u.activated) {
      Push(from + 3, PutAccount(MakeAccount(id, true, id, from + 3)));
    }
    const int64_t step =
        std::max<int64_t>(1, (to - from - 10) / (u.members + 1));
    for (int64_t k = 0; k < u.members; ++k) {
      const uint64_t n = u.first_member + k;
      const int64_t ms = from + 10 + (k + 1) * step;
      v1::Member m = gen_.Member(id);
      m.set_id(MemberId(n));
      // A few people are entered by two unions (the hub reconciles them).
      uint64_t person = n;
      if (static_cast<int>(Mix(n ^ 0xd0b1e) % 1000) <
              plan_->duplicate_per_mille &&
          plan_->members > 1) {
        person = (n + plan_->members / 2) % plan_->members;
      }
      m.set_id_number(UniqueIdNumber(person));
      m.set_gender((m.id_number()[16] - '0') % 2 == 1 ? v1::MALE : v1::FEMALE);
      m.set_status(v1::MEMBER_ACTIVE);
      m.set_created_at_ms(ms);
      m.set_updated_at_ms(ms);
      v1::Change c;
      c.set_kind(v1::PUT_MEMBER);
      *c.mutable_member() = std::move(m);
      Push(ms, std::move(c));
    }
  }

  const Plan* plan_;
  const int region_;
  const std::string code_;
  SynthGenerator gen_;
  std::vector<std::pair<int64_t, v1::Change>> buffer_;
  size_t next_ = 0;
  size_t union_ = 0;
};

// The campaign as the hub is configured with: the city and every region and
// system with its expected counts (here: what the load brings).
v1::CampaignConfig MakeCampaign(const Plan& plan) {
  v1::CampaignConfig c = DefaultCampaign();
  c.set_expected_grassroots(plan.grassroots);
  c.set_expected_members(plan.members);
  c.clear_areas();
  for (size_t r = 0; r < ChangshaRegions().size(); ++r) {
    v1::AreaTarget* a = c.add_areas();
    a->set_scope(absl::StrCat("region:", ChangshaRegions()[r].code));
    a->set_label(ChangshaRegions()[r].name);
    a->set_expected_grassroots(plan.region_unions[r]);
    a->set_expected_members(plan.region_members[r]);
  }
  for (size_t s = 0; s < IndustrySystems().size(); ++s) {
    // ValidateCampaign takes system scopes as identifiers ([a-z0-9.-]) while
    // organisations may carry [a-z0-9_] system codes ("public_service"):
    // such a system gets no area (its row shows no expected counts).
    const absl::string_view code = IndustrySystems()[s].code;
    if (code.find('_') != absl::string_view::npos) {
      std::printf(
          "campaign: no area for system:%s (ValidateCampaign refuses '_')\n",
          std::string(code).c_str());
      continue;
    }
    v1::AreaTarget* a = c.add_areas();
    a->set_scope(absl::StrCat("system:", IndustrySystems()[s].code));
    a->set_label(absl::StrCat(IndustrySystems()[s].name, "系统"));
    a->set_expected_grassroots(plan.system_unions[s]);
    a->set_expected_members(plan.system_members[s]);
  }
  // The default milestone of 800,000 members by 2019-12-31 is for 2,000,000
  // expected; scale it with --members.
  c.mutable_milestones(0)->set_members(plan.members * 2 / 5);
  FillRuleDefaults(c.mutable_rules());
  if (absl::Status s = ValidateCampaign(c); !s.ok()) Die("campaign", s);
  return c;
}

// What the hub writes itself before anything arrives: the city, its
// administrator, the nine district federations (each its own node) and the
// city's industry unions (hosted here).
void Setup(Store& store, OffsetClock& clock) {
  clock.SetBase(kSetupMs);
  const int64_t ms = clock.NowMs();
  WriteSet w;
  v1::Org city = MakeOrg(kHub, "", "长沙市总工会", v1::CITY_FEDERATION, 1, "",
                         "", kHub, ms);
  w.PutOrg(city);
  auto hash = HashPassword(kAdminPassword);
  if (!hash.ok()) Die("password hash", hash.status());
  v1::Account admin = MakeAccount(kHub, true, kHub, ms);
  admin.set_username("admin");
  admin.set_password_hash(*hash);
  w.PutAccount(admin);
  for (const ChangshaRegion& r : ChangshaRegions()) {
    w.PutOrg(MakeOrg(r.code, kHub, absl::StrCat(r.name, "总工会"),
                     v1::DISTRICT_FEDERATION, 2, r.code, "", r.code, ms));
    w.PutAccount(MakeAccount(r.code, true, r.code, ms));
  }
  for (const IndustrySystem& s : IndustrySystems()) {
    const std::string id = absl::StrCat("ind-", s.code);
    w.PutOrg(MakeOrg(id, kHub, absl::StrCat("长沙市", s.name, "工会"),
                     v1::INDUSTRY_UNION, 2, "", s.code, kHub, ms));
    w.PutAccount(MakeAccount(id, true, id, ms));
  }
  auto r = store.Commit(w, "admin");
  if (!r.ok()) Die("setup commit", r.status());
  clock.SetBase(kHubNowMs);
}

// ---------------------------------------------------------------------------
// The load.

using bench::Percentiles;
using bench::Summarise;
using bench::Text;

struct LoadResult {
  int64_t changes = 0;
  int64_t batches = 0;
  double wall_s = 0;         // First batch to last apply returned.
  double apply_s = 0;        // Inside ApplyReplicated.
  double apply_cpu_s = 0;    // CPU of this thread inside ApplyReplicated.
  double thread_cpu_s = 0;   // CPU of this thread (apply and generation).
  double process_cpu_s = 0;  // All threads of the process.
  Percentiles batch_ms;
};

constexpr char kReconcileCheckpoint[] = "reconcile/next_pos";

uint64_t ReconcilerPosition(const Store& store) {
  auto cp = store.GetLocal(kReconcileCheckpoint);
  if (!cp.ok()) Die("reconciler checkpoint", cp.status());
  if (!cp->has_value()) return 1;
  const std::string& v = **cp;
  uint64_t out = 0;
  for (size_t i = 0; i < 8 && i < v.size(); ++i) {
    out = (out << 8) | static_cast<unsigned char>(v[i]);
  }
  return out;
}

LoadResult Load(Store& store, const Plan& plan, const std::string& label) {
  const int batch_size = absl::GetFlag(FLAGS_batch);
  std::vector<std::unique_ptr<DistrictStream>> streams;
  for (size_t r = 0; r < ChangshaRegions().size(); ++r) {
    streams.push_back(
        std::make_unique<DistrictStream>(&plan, static_cast<int>(r)));
  }
  std::map<std::string, uint64_t> seq;
  uint16_t logical = 0;
  std::vector<double> batch_ms;
  LoadResult out;
  const auto start = SteadyClock::now();
  const double thread_cpu0 = ThreadCpuMs();
  const double process_cpu0 = ProcessCpuMs();
  int64_t members_done = 0;
  int64_t next_report = plan.members / 10;
  for (;;) {
    // The district whose next change is the oldest sends its next batch.
    DistrictStream* s = nullptr;
    for (auto& d : streams) {
      if (d->done()) continue;
      if (s == nullptr || d->next_ms() < s->next_ms()) s = d.get();
    }
    if (s == nullptr) break;
    ReplicatedBatch b;
    b.source = ReplicatedBatch::Source::kChild;
    b.peer = s->code();
    b.peer_incarnation = absl::StrCat("inc-", s->code());
    for (int k = 0; k < batch_size && !s->done(); ++k) {
      int64_t ms;
      v1::Change c = s->Next(&ms);
      if (c.kind() == v1::PUT_MEMBER) ++members_done;
      c.set_origin(s->code());
      c.set_origin_incarnation(b.peer_incarnation);
      c.set_origin_seq(++seq[s->code()]);
      c.set_hlc(HybridClock::Pack(ms, logical++));
      c.set_author(Username(s->code()));
      b.changes.push_back(std::move(c));
    }
    b.last_pos = seq[s->code()];
    const size_t n = b.changes.size();
    const double cpu0 = ThreadCpuMs();
    const auto t0 = SteadyClock::now();
    auto r = store.ApplyReplicated(std::move(b));
    const double dt = Ms(t0);
    out.apply_cpu_s += (ThreadCpuMs() - cpu0) / 1000;
    if (!r.ok()) Die("ApplyReplicated", r.status());
    if (r->rejected > 0 || r->applied != static_cast<int>(n)) {
      std::fprintf(stderr,
                   "hub_bench: batch from %s: %d applied, %d duplicates, %d "
                   "rejected of %zu: %s\n",
                   s->code().c_str(), r->applied, r->duplicates, r->rejected, n,
                   r->rejections.empty() ? "" : r->rejections[0].c_str());
      std::exit(1);
    }
    batch_ms.push_back(dt);
    out.apply_s += dt / 1000;
    out.changes += static_cast<int64_t>(n);
    ++out.batches;
    if (members_done >= next_report) {
      std::fprintf(stderr,
                   "  [%s] %" PRId64 " members, %.0f s, %.0f changes/s\n",
                   label.c_str(), members_done, Seconds(start),
                   out.changes / Seconds(start));
      next_report += plan.members / 10;
    }
  }
  out.wall_s = Seconds(start);
  out.thread_cpu_s = (ThreadCpuMs() - thread_cpu0) / 1000;
  out.process_cpu_s = (ProcessCpuMs() - process_cpu0) / 1000;
  out.batch_ms = Summarise(std::move(batch_ms));
  return out;
}

std::unique_ptr<Store> OpenStore(const std::string& path, bool track_progress,
                                 const Clock* clock) {
  StoreOptions o;
  o.path = path;
  o.node_id = kHub;
  o.vault = testing::TestVault(kHub);
  o.clock = clock;
  o.sync = true;  // As a hub applies: every batch durable before its ack.
  o.track_progress = track_progress;
  auto s = Store::Open(o);
  if (!s.ok()) Die("Store::Open", s.status());
  return *std::move(s);
}

void PrintLoad(const std::string& label, const LoadResult& r) {
  std::printf(
      "apply [%s]: %" PRId64 " changes in %" PRId64
      " batches; wall %.1f s = %.0f changes/s; inside ApplyReplicated %.1f s "
      "= %.0f changes/s; per batch %s\n",
      label.c_str(), r.changes, r.batches, r.wall_s, r.changes / r.wall_s,
      r.apply_s, r.changes / r.apply_s, Text(r.batch_ms, 1).c_str());
  std::printf(
      "cpu [%s]: applying thread inside ApplyReplicated %.1f s = %.1f us per "
      "change (%.0f%% of its wall time there); that thread in all (with "
      "generating the changes) %.1f s; process %.1f s = %.2f cores; other "
      "threads (RocksDB flush and compaction, reconciler) %.1f s\n",
      label.c_str(), r.apply_cpu_s, 1e6 * r.apply_cpu_s / r.changes,
      100 * r.apply_cpu_s / r.apply_s, r.thread_cpu_s, r.process_cpu_s,
      r.process_cpu_s / r.wall_s, r.process_cpu_s - r.thread_cpu_s);
}

// A load without queries ("baseline": progress off, no reconciler;
// "progress": progress on, no reconciler), in a child process.
int LoadOnly(const Plan& plan, const std::string& dir, const std::string& run) {
  const std::string path = absl::StrCat(dir, "/", run);
  OffsetClock clock(kStartMs);
  auto store = OpenStore(path, run == "progress", &clock);
  Setup(*store, clock);
  LoadResult r = Load(*store, plan, run);
  PrintLoad(run, r);
  std::printf("memory [%s] after the load: %s\n", run.c_str(),
              MemoryText(ReadMemory()).c_str());
  std::fflush(stdout);
  store.reset();
  std::filesystem::remove_all(path);
  return 0;
}

// ---------------------------------------------------------------------------
// Queries.

// Wall time of `n` calls of `f`, and the CPU time of this thread in them
// (the difference is time spent waiting: for a core on this shared machine,
// for locks, for I/O).
struct Timed {
  Percentiles wall;
  Percentiles cpu;
};
Timed Time(int n, const std::function<void()>& f) {
  for (int i = 0; i < std::min(n, 20); ++i) f();  // Warm up.
  std::vector<double> wall, cpu;
  wall.reserve(n);
  cpu.reserve(n);
  for (int i = 0; i < n; ++i) {
    const double c0 = ThreadCpuMs();
    const auto t0 = SteadyClock::now();
    f();
    wall.push_back(Ms(t0));
    cpu.push_back(ThreadCpuMs() - c0);
  }
  return {Summarise(std::move(wall)), Summarise(std::move(cpu))};
}
std::string Text(const Timed& t) {
  return absl::StrFormat("%s; this thread's CPU p50 %.3f ms, p99 %.3f ms",
                         Text(t.wall, 3), t.cpu.p50, t.cpu.p99);
}

void ProgressQueries(Monitor& monitor, const std::string& token, int n) {
  RequestContext ctx{token, "hub_bench"};
  auto query = [&](const std::string& view) {
    v1::GetProgressRequest req;
    req.set_view(view);
    auto r = monitor.GetProgress(ctx, req);
    if (!r.ok()) Die(absl::StrCat("GetProgress ", view), r.status());
    return *r;
  };
  for (const char* view : {"city", "regions", "systems"}) {
    v1::GetProgressResponse r = query(view);
    std::printf("  %s: total %s grassroots %" PRId64 "/%" PRId64
                ", members %" PRId64 "/%" PRId64
                ", behind %d, %d rows, %zu bytes\n",
                view, r.total().label().c_str(), r.total().grassroots(),
                r.total().expected_grassroots(), r.total().members(),
                r.total().expected_members(), r.total().behind(), r.rows_size(),
                r.ByteSizeLong());
  }
  for (const char* view : {"city", "regions", "systems"}) {
    Timed t = Time(n, [&] { query(view); });
    std::printf("progress in process, view %s: %s\n", view, Text(t).c_str());
  }
  Timed all = Time(n, [&] {
    query("city");
    query("regions");
    query("systems");
  });
  std::printf("progress in process, city + regions + systems: %s\n",
              Text(all).c_str());
}

void GrpcQueries(int port, const std::string& token, int n) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::MonitorService::NewStub(channel);
  auto query = [&](const std::string& view) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    v1::GetProgressRequest req;
    req.set_view(view);
    v1::GetProgressResponse resp;
    grpc::Status s = stub->GetProgress(&ctx, req, &resp);
    if (!s.ok()) {
      Die("gRPC GetProgress", absl::UnknownError(s.error_message()));
    }
  };
  for (const char* view : {"city", "regions", "systems"}) {
    Timed t = Time(n, [&] { query(view); });
    std::printf("progress over gRPC, view %s: %s\n", view,
                Text(t.wall, 3).c_str());
  }
}

// Open warnings and conflicts by kind, from the Prometheus text.
void PrintHubRecords(Monitor& monitor) {
  for (absl::string_view line : absl::StrSplit(monitor.MetricsText(), '\n')) {
    if (absl::StartsWith(line, "unionsync_warnings_open{") ||
        absl::StartsWith(line, "unionsync_conflicts{") ||
        absl::StartsWith(line, "unionsync_progress_")) {
      std::printf("  %s\n", std::string(line).c_str());
    }
  }
}

int Hub(const Plan& plan, const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/hub");
  OffsetClock clock(kStartMs);
  {
    auto store = OpenStore(path, /*track_progress=*/true, &clock);
    Setup(*store, clock);
    Reconciler reconciler(store.get(), &clock);
    reconciler.Start();
    LoadResult r = Load(*store, plan, "hub");
    const int64_t examined = reconciler.examined();
    const uint64_t at = ReconcilerPosition(*store);
    const uint64_t end = store->next_log_pos();
    PrintLoad("hub", r);
    std::printf("reconciler when the last apply returned: %" PRIu64
                " log positions behind (of %" PRIu64 "); examined %" PRId64
                " changes = %.0f changes/s alongside the apply\n",
                end - at, end - 1, examined, examined / r.wall_s);
    const auto t0 = SteadyClock::now();
    while (ReconcilerPosition(*store) < store->next_log_pos()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double catch_up_s = Seconds(t0);
    const int64_t rest = reconciler.examined() - examined;
    std::printf("reconciler caught up %.1f s later: %" PRId64
                " more changes = %.0f changes/s alone; %" PRId64
                " in all = %.0f changes/s over load + catch-up\n",
                catch_up_s, rest, catch_up_s > 0 ? rest / catch_up_s : 0.0,
                reconciler.examined(),
                reconciler.examined() / (r.wall_s + catch_up_s));
    std::printf("memory after the load (store and reconciler): %s\n",
                MemoryText(ReadMemory()).c_str());
    std::fflush(stdout);
    reconciler.Stop();
  }

  // The hub as unionsync-hub runs it, on the loaded store.
  NodeOptions o;
  o.node_id = kHub;
  o.vault = testing::TestVault(kHub);
  o.data_dir = path;
  o.listen = "127.0.0.1:0";
  o.insecure_plaintext = true;
  o.clock = &clock;
  o.hub = true;
  o.campaign = MakeCampaign(plan);
  o.dashboard_listen = "127.0.0.1:0";
  auto t0 = SteadyClock::now();
  auto node = NodeServer::Start(o);
  if (!node.ok()) Die("NodeServer::Start", node.status());
  std::printf("hub start on the loaded store (RocksDB WAL replay): %.1f s\n",
              Seconds(t0));
  t0 = SteadyClock::now();
  auto written = (*node)->evaluator()->Evaluate();
  if (!written.ok()) Die("Evaluate", written.status());
  std::printf(
      "warning evaluation right after start (with the evaluator thread's "
      "first): %.2f s\n",
      Seconds(t0));
  t0 = SteadyClock::now();
  written = (*node)->evaluator()->Evaluate();
  if (!written.ok()) Die("Evaluate", written.status());
  std::printf("warning evaluation, steady state: %.2f s, %d records written\n",
              Seconds(t0), *written);
  PrintHubRecords((*node)->monitor());
  const Memory loaded = ReadMemory();
  std::printf("memory, hub serving the loaded store: %s\n",
              MemoryText(loaded).c_str());
  std::fflush(stdout);

  v1::LoginRequest login;
  login.set_username("admin");
  login.set_password(kAdminPassword);
  auto session = (*node)->admin().Login(CallContext{"", "hub_bench"}, login);
  if (!session.ok()) Die("Login", session.status());
  const int n = absl::GetFlag(FLAGS_queries);
  ProgressQueries((*node)->monitor(), session->token(), n);
  std::fflush(stdout);
  GrpcQueries((*node)->port(), session->token(), n);
  std::fflush(stdout);
  bench::MeasureWorkbenchLoad((*node)->dashboard_port(), "admin",
                              kAdminPassword, kHub,
                              absl::GetFlag(FLAGS_page_loads));
  std::printf("memory after the queries: %s\n",
              MemoryText(ReadMemory()).c_str());
  std::fflush(stdout);
  (*node)->Shutdown();
  node->reset();
  if (!absl::GetFlag(FLAGS_keep)) std::filesystem::remove_all(path);
  return 0;
}

int Run() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const Plan plan = MakePlan();
  std::printf("hub_bench: %" PRId64 " grassroots unions, %" PRId64
              " members, %d townships per region, batches of %d changes\n",
              plan.grassroots, plan.members, plan.townships,
              absl::GetFlag(FLAGS_batch));
  for (size_t r = 0; r < ChangshaRegions().size(); ++r) {
    std::printf("  %s %s: %" PRId64 " unions, %" PRId64 " members\n",
                ChangshaRegions()[r].code, ChangshaRegions()[r].name,
                plan.region_unions[r], plan.region_members[r]);
  }
  std::fflush(stdout);
  std::vector<std::string> loads;
  bool hub = false;
  for (absl::string_view run : absl::StrSplit(absl::GetFlag(FLAGS_run), ',')) {
    if (run == "baseline" || run == "progress") {
      loads.emplace_back(run);
    } else if (run == "hub") {
      hub = true;
    } else {
      std::fprintf(stderr, "hub_bench: unknown --run '%s'\n",
                   std::string(run).c_str());
      return 2;
    }
  }
  int rc = 0;
  // The loads without queries first, each in a child process so that the
  // hub's memory figures are its own; no thread exists yet in this process,
  // so fork is safe.
  for (const std::string& run : loads) {
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) Die("fork", absl::InternalError("fork failed"));
    if (pid == 0) {
      const int code = LoadOnly(plan, dir, run);
      std::fflush(stdout);
      _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
  }
  if (hub) rc |= Hub(plan, dir);
  return rc;
}

}  // namespace
}  // namespace unionsync

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unionsync::Run();
}
