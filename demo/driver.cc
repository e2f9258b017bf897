#include "demo/driver.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/crypto.h"
#include "common/org_rules.h"
#include "common/password_policy.h"
#include "common/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "synth/synth.h"
#include "unionsync/v1/admin.grpc.pb.h"

namespace unionsync {
namespace {

// Street and town names of each Changsha division, for the township
// federations ("<name>工会联合会"). Public place names, not personal data.
struct RegionTownships {
  const char* code;
  const char* names[6];
};

constexpr RegionTownships kTownships[] = {
    {"430102",
     {"文艺路街道", "朝阳街街道", "韭菜园街道", "五里牌街道", "定王台街道",
      "湘湖街道"}},
    {"430103",
     {"坡子街街道", "城南路街道", "裕南街街道", "金盆岭街道", "新开铺街道",
      "青园街道"}},
    {"430104",
     {"橘子洲街道", "望月湖街道", "岳麓街道", "观沙岭街道", "望岳街道",
      "银盆岭街道"}},
    {"430105",
     {"东风路街道", "清水塘街道", "望麓园街道", "伍家岭街道", "新河街道",
      "四方坪街道"}},
    {"430111",
     {"侯家塘街道", "左家塘街道", "雨花亭街道", "高桥街道", "圭塘街道",
      "砂子塘街道"}},
    {"430112",
     {"高塘岭街道", "乌山街道", "丁字湾街道", "白沙洲街道", "大泽湖街道",
      "月亮岛街道"}},
    {"430121",
     {"星沙街道", "湘龙街道", "泉塘街道", "榔梨街道", "黄花镇", "春华镇"}},
    {"430181",
     {"淮川街道", "集里街道", "荷花街道", "关口街道", "大瑶镇", "永安镇"}},
    {"430182",
     {"玉潭街道", "城郊街道", "历经铺街道", "白马桥街道", "花明楼镇",
      "道林镇"}},
};

std::string TownshipName(const ChangshaRegion& region, int index) {
  for (const RegionTownships& r : kTownships) {
    if (absl::string_view(r.code) == region.code && index < 6) {
      return r.names[index];
    }
  }
  return absl::StrCat(region.name, "第", index + 1, "街道");
}

// What becomes of one grassroots union.
enum class Fate { kComplete, kIncomplete, kNeverActivated };

std::string Describe(const v1::Org& org) {
  return absl::StrCat(org.id(), " (", org.name(), ")");
}

// A logged-in data administrator, and where: the Admin API of the node that
// hosts its organisation.
// A random password the policy accepts for `username` (a random draw can, if
// rarely, look systematic to cracklib: draw again).
absl::StatusOr<std::string> NewPassword(const std::string& username) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    ASSIGN_OR_RETURN(std::string password, GenerateInitialPassword());
    if (CheckNewPassword(password, username).ok()) return password;
  }
  return absl::InternalError("no acceptable random password in 20 draws");
}

struct Actor {
  std::string username;
  std::string password;  // Current; empty when not known.
  std::string token;
  std::string target;  // host:port.
  std::string node;    // That node's id.
  v1::Org org;
};

// The typed Admin API client: one channel per node, deadlines, bearer
// metadata, RPC counting and error messages that name the step.
class Api {
 public:
  Api(absl::Duration deadline, int64_t* rpcs,
      std::shared_ptr<grpc::ChannelCredentials> creds)
      : deadline_(deadline), rpcs_(rpcs), creds_(std::move(creds)) {}

  template <typename Req, typename Resp>
  using Method = grpc::Status (v1::AdminService::Stub::*)(grpc::ClientContext*,
                                                          const Req&, Resp*);

  // Issues one RPC to the node at `target`. On failure the status keeps the
  // RPC's code and its message reads "<step>: <server message>".
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(const std::string& target, Method<Req, Resp> method,
                            const std::string& token, const Req& req,
                            absl::string_view step) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    ++*rpcs_;
    Resp resp;
    const grpc::Status s = (StubFor(target)->*method)(&ctx, req, &resp);
    if (s.ok()) return resp;
    std::string message = absl::StrCat(step, ": ", s.error_message());
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      absl::StrAppend(&message, " (is unionsync-node serving on ", target,
                      "?)");
    } else if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      absl::StrAppend(&message, " (no answer within ",
                      absl::FormatDuration(deadline_), ")");
    }
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), message);
  }

  // Calls as `actor`, at its node.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(const Actor& actor, Method<Req, Resp> method,
                            const Req& req, absl::string_view step) {
    return Call(actor.target, method, actor.token, req, step);
  }

 private:
  v1::AdminService::Stub* StubFor(const std::string& target) {
    std::unique_ptr<v1::AdminService::Stub>& stub = stubs_[target];
    if (stub == nullptr) {
      stub = v1::AdminService::NewStub(grpc::CreateChannel(target, creds_));
    }
    return stub.get();
  }

  const absl::Duration deadline_;
  int64_t* const rpcs_;
  const std::shared_ptr<grpc::ChannelCredentials> creds_;
  std::map<std::string, std::unique_ptr<v1::AdminService::Stub>> stubs_;
};

// What a parent registers.
struct ChildSpec {
  std::string id;  // Empty: the node generates one.
  std::string name;
  v1::OrgKind kind = v1::ORG_KIND_UNSPECIFIED;
  std::string region;
  std::string system;
  std::string username;
};

std::string TownshipId(absl::string_view district_id, int index) {
  return absl::StrCat(district_id, ".", index + 1);
}

using Stub = v1::AdminService::Stub;

class Driver {
 public:
  explicit Driver(const DemoOptions& options)
      : options_(options),
        api_(options.rpc_deadline, &report_.rpcs,
             options.creds != nullptr ? options.creds
                                      : grpc::InsecureChannelCredentials()),
        plan_(options.seed ^ 0x9e3779b97f4a7c15ull),
        profiles_(options.seed),
        members_(options.seed + 1) {}

  absl::StatusOr<DemoReport> Run();

 private:
  bool RunsNode(const std::string& org_id) const {
    return options_.nodes.count(org_id) > 0;
  }
  absl::StatusOr<Actor> Login(const std::string& target,
                              const std::string& username,
                              const std::string& password,
                              absl::string_view who);
  // Login at the organisation's own node, retried until its registration and
  // administrator account have arrived there by replication.
  absl::StatusOr<Actor> LoginWhenReplicated(const std::string& node_id,
                                            const std::string& username,
                                            const std::string& password,
                                            absl::string_view who);
  absl::Status ChangePassword(Actor& actor, const std::string& new_pw);
  absl::Status Logout(const Actor& actor);
  // Logs in with the initial password where the organisation is hosted (for
  // one that runs its own node: there, once replicated), changes it and,
  // unless `fate` says otherwise, completes the profile. `region` places the
  // address (null for city-wide organisations).
  absl::StatusOr<Actor> Activate(const Actor& parent,
                                 const v1::CreateChildOrgResponse& created,
                                 const ChangshaRegion* region, Fate fate);
  absl::Status CompleteProfile(Actor& actor, const ChangshaRegion* region,
                               Fate fate);
  // Registers a child of `parent`'s organisation, at the parent's node; one
  // that runs its own node gets host_node = its id.
  absl::StatusOr<v1::CreateChildOrgResponse> CreateChild(const Actor& parent,
                                                         const ChildSpec& spec);
  ChildSpec DistrictSpec(const ChangshaRegion& region) const;
  ChildSpec TownshipSpec(const ChangshaRegion& region,
                         const std::string& district_id, int index) const;
  // Registers and activates, before everything else and tier by tier, the
  // organisations that run their own node (and the districts above such
  // townships), so that their nodes receive their registrations early.
  absl::Status PrepareNodes(const Actor& city);
  // Registers the grassroots unions under `parent` and runs each one's life:
  // activation, profile, members.
  absl::Status Grassroots(const Actor& parent, const ChangshaRegion* region,
                          const std::string& username_prefix);
  absl::Status AddMembers(const Actor& actor);
  absl::Status District(const Actor& city, const ChangshaRegion& region);
  absl::Status Industry(const Actor& city, const IndustrySystem& system);
  absl::StatusOr<SummaryRow> Summary(const Actor& reader,
                                     const std::string& org_id);
  // Multi-node runs: waits until every node's subtree reads the same at its
  // parent node and the hub's totals are what was entered; fills
  // report_.nodes.
  absl::Status AwaitReplication(const std::string& city_password);
  absl::Status Summaries(const std::string& password);
  void Progress(const std::string& unit, int64_t orgs_before,
                int64_t members_before);
  void Say(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }

  const DemoOptions& options_;
  DemoReport report_;
  Api api_;
  SynthGenerator plan_;      // Decisions: fates, grassroots kinds.
  SynthGenerator profiles_;  // Names and profiles.
  SynthGenerator members_;   // Member records.
  // The first member entered at some node, re-entered once at another node.
  std::optional<std::pair<std::string, v1::Member>> dup_source_;
  bool cross_node_duplicate_done_ = false;
  std::vector<Fate> fates_;  // One per grassroots union, in creation order.
  size_t next_fate_ = 0;
  int units_done_ = 0;
  int units_total_ = 0;
  std::string hub_id_;
  // Organisations activated by PrepareNodes, by id.
  std::map<std::string, Actor> prepared_;
  // Organisations that run their own node: their administrator (with the
  // current password; the session is not used after the build) and the id of
  // their parent node.
  std::map<std::string, Actor> node_admins_;
  std::map<std::string, std::string> parent_node_;
};

absl::StatusOr<Actor> Driver::Login(const std::string& target,
                                    const std::string& username,
                                    const std::string& password,
                                    absl::string_view who) {
  v1::LoginRequest req;
  req.set_username(username);
  req.set_password(password);
  ASSIGN_OR_RETURN(
      v1::LoginResponse resp,
      api_.Call(target, &Stub::Login, "", req,
                absl::StrCat("Login as '", username, "' for ", who)));
  Actor actor;
  actor.username = username;
  actor.password = password;
  actor.token = resp.token();
  actor.target = target;
  actor.org.set_id(resp.org_id());
  return actor;
}

absl::StatusOr<Actor> Driver::LoginWhenReplicated(const std::string& node_id,
                                                  const std::string& username,
                                                  const std::string& password,
                                                  absl::string_view who) {
  const std::string& target = options_.nodes.at(node_id);
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options_.replication_deadline;
  while (true) {
    auto actor = Login(target, username, password, who);
    if (actor.ok()) {
      actor->node = node_id;
      Say(absl::StrFormat(
          "节点 %s：上级下发的注册与管理员账号已到达，%.1f 秒后登录成功",
          node_id, absl::ToDoubleSeconds(absl::Now() - start)));
      return actor;
    }
    // Unknown account (not replicated yet) or node not serving yet: retry.
    const bool retry = absl::IsUnauthenticated(actor.status()) ||
                       absl::IsUnavailable(actor.status());
    if (!retry) return actor.status();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "node ", node_id, " at ", target,
          " did not receive its registration within ",
          absl::FormatDuration(options_.replication_deadline),
          " (last attempt: ", actor.status().message(),
          "); is unionsync-node --node_id=", node_id,
          " running with --parent_address set to its parent node's "
          "replication port and certificates from the same CA?"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status Driver::ChangePassword(Actor& actor, const std::string& new_pw) {
  v1::ChangePasswordRequest req;
  req.set_old_password(actor.password);
  req.set_new_password(new_pw);
  RETURN_IF_ERROR(api_.Call(actor, &Stub::ChangePassword, req,
                            absl::StrCat("ChangePassword of '", actor.username,
                                         "' for ", Describe(actor.org)))
                      .status());
  actor.password = new_pw;
  return absl::OkStatus();
}

absl::Status Driver::Logout(const Actor& actor) {
  return api_
      .Call(actor, &Stub::Logout, v1::LogoutRequest(),
            absl::StrCat("Logout of '", actor.username, "' for ",
                         Describe(actor.org)))
      .status();
}

absl::Status Driver::CompleteProfile(Actor& actor, const ChangshaRegion* region,
                                     Fate fate) {
  v1::Org profile = profiles_.GrassrootsProfile();
  profile.clear_name();
  // GrassrootsProfile places the address in a random division; move it into
  // the organisation's own.
  constexpr absl::string_view kCity = "湖南省长沙市";
  if (region != nullptr) {
    for (const ChangshaRegion& r : ChangshaRegions()) {
      const std::string prefix = absl::StrCat(kCity, r.name);
      if (absl::StartsWith(profile.address(), prefix)) {
        profile.set_address(absl::StrCat(
            kCity, region->name, profile.address().substr(prefix.size())));
        break;
      }
    }
  }
  if (fate == Fate::kIncomplete) {
    // Typical of a union that started but did not finish: no address or
    // founding date yet, sometimes no trained data administrator either.
    profile.clear_address();
    profile.clear_founding_date();
    if (plan_.Chance(50)) profile.clear_data_admin();
  }
  v1::UpdateOrgProfileRequest req;
  req.set_org_id(actor.org.id());
  *req.mutable_profile() = std::move(profile);
  ASSIGN_OR_RETURN(
      v1::UpdateOrgProfileResponse resp,
      api_.Call(actor, &Stub::UpdateOrgProfile, req,
                absl::StrCat("UpdateOrgProfile of ", Describe(actor.org),
                             " as '", actor.username, "'")));
  const bool complete = resp.org().profile_completeness() == 100;
  if (complete != (fate != Fate::kIncomplete)) {
    return absl::InternalError(absl::StrCat(
        "UpdateOrgProfile of ", Describe(actor.org), ": the node computed ",
        resp.org().profile_completeness(), "% complete, expected ",
        fate == Fate::kIncomplete ? "less than 100%" : "100%"));
  }
  if (!complete) ++report_.orgs_left_incomplete;
  actor.org = resp.org();
  return absl::OkStatus();
}

absl::StatusOr<Actor> Driver::Activate(
    const Actor& parent, const v1::CreateChildOrgResponse& created,
    const ChangshaRegion* region, Fate fate) {
  const std::string& id = created.org().id();
  Actor actor;
  if (RunsNode(id)) {
    ASSIGN_OR_RETURN(actor, LoginWhenReplicated(id, created.admin_username(),
                                                created.initial_password(),
                                                Describe(created.org())));
    parent_node_[id] = parent.node;
  } else {
    ASSIGN_OR_RETURN(
        actor, Login(parent.target, created.admin_username(),
                     created.initial_password(), Describe(created.org())));
    actor.node = parent.node;
  }
  actor.org = created.org();
  ASSIGN_OR_RETURN(std::string password, NewPassword(actor.username));
  RETURN_IF_ERROR(ChangePassword(actor, password));
  RETURN_IF_ERROR(CompleteProfile(actor, region, fate));
  if (RunsNode(id)) node_admins_[id] = actor;
  return actor;
}

absl::StatusOr<v1::CreateChildOrgResponse> Driver::CreateChild(
    const Actor& parent, const ChildSpec& spec) {
  v1::CreateChildOrgRequest req;
  req.set_parent_id(parent.org.id());
  req.mutable_org()->set_id(spec.id);
  req.mutable_org()->set_name(spec.name);
  req.mutable_org()->set_kind(spec.kind);
  req.mutable_org()->set_region(spec.region);
  req.mutable_org()->set_system(spec.system);
  // An organisation that runs its own node hosts itself; the others are
  // hosted on their parent's node (host_node empty).
  if (RunsNode(spec.id)) req.mutable_org()->set_host_node(spec.id);
  req.set_admin_username(spec.username);
  req.set_admin_display_name(
      absl::StrCat(profiles_.PersonName(), "（信息管理员）"));
  auto resp =
      api_.Call(parent, &Stub::CreateChildOrg, req,
                absl::StrCat("CreateChildOrg of ", spec.name, " (admin '",
                             spec.username, "') under ", Describe(parent.org)));
  if (!resp.ok()) {
    if (absl::IsAlreadyExists(resp.status())) {
      return absl::Status(
          resp.status().code(),
          absl::StrCat(resp.status().message(),
                       " (the demo expects a freshly bootstrapped node)"));
    }
    return resp.status();
  }
  ++report_.orgs_created;
  if (IsGrassroots(spec.kind)) ++report_.grassroots_created;
  return resp;
}

ChildSpec Driver::DistrictSpec(const ChangshaRegion& region) const {
  ChildSpec spec;
  spec.id = region.code;
  spec.name = absl::StrCat(region.name, "总工会");
  spec.kind = v1::DISTRICT_FEDERATION;
  spec.region = region.code;
  spec.username = absl::StrCat("d", region.code);
  return spec;
}

ChildSpec Driver::TownshipSpec(const ChangshaRegion& region,
                               const std::string& district_id,
                               int index) const {
  ChildSpec spec;
  spec.id = TownshipId(district_id, index);
  spec.name = absl::StrCat(TownshipName(region, index), "工会联合会");
  spec.kind = v1::TOWNSHIP_FEDERATION;
  spec.username = absl::StrCat("d", region.code, "-t", index + 1);
  return spec;
}

absl::Status Driver::PrepareNodes(const Actor& city) {
  struct Pending {
    const Actor* parent;
    const ChangshaRegion* region;
    v1::CreateChildOrgResponse created;
  };
  // Tier 2: register every district that runs a node or has a township that
  // does, then activate them (their nodes receive the registrations
  // meanwhile).
  std::vector<Pending> districts;
  for (int d = 0; d < options_.districts; ++d) {
    const ChangshaRegion& region = ChangshaRegions()[d];
    bool needed = RunsNode(region.code);
    for (int t = 0; t < options_.townships; ++t) {
      needed = needed || RunsNode(TownshipId(region.code, t));
    }
    if (!needed) continue;
    ASSIGN_OR_RETURN(v1::CreateChildOrgResponse created,
                     CreateChild(city, DistrictSpec(region)));
    districts.push_back({&city, &region, std::move(created)});
  }
  std::vector<Pending> townships;
  for (const Pending& p : districts) {
    const std::string& id = p.created.org().id();
    ASSIGN_OR_RETURN(prepared_[id],
                     Activate(*p.parent, p.created, p.region, Fate::kComplete));
  }
  // Tier 3: the townships that run a node, registered at their district's.
  for (const Pending& p : districts) {
    const Actor& district = prepared_.at(p.created.org().id());
    for (int t = 0; t < options_.townships; ++t) {
      const ChildSpec spec = TownshipSpec(*p.region, district.org.id(), t);
      if (!RunsNode(spec.id)) continue;
      ASSIGN_OR_RETURN(v1::CreateChildOrgResponse created,
                       CreateChild(district, spec));
      townships.push_back({&district, p.region, std::move(created)});
    }
  }
  for (const Pending& p : townships) {
    const std::string& id = p.created.org().id();
    ASSIGN_OR_RETURN(prepared_[id],
                     Activate(*p.parent, p.created, p.region, Fate::kComplete));
  }
  return absl::OkStatus();
}

absl::Status Driver::AddMembers(const Actor& actor) {
  for (int i = 0; i < options_.members; ++i) {
    v1::AddMemberRequest req;
    *req.mutable_member() = members_.Member(actor.org.id());
    // Once, a person a union on another node already entered (a common
    // mistake when someone changes jobs): each node accepts its own entry,
    // and the hub's reconciliation reports the person in two unions.
    const std::string& host = actor.org.host_node();
    bool is_duplicate = false;
    if (i == 0 && !cross_node_duplicate_done_ && dup_source_.has_value() &&
        dup_source_->first != host && !host.empty()) {
      v1::Member* m = req.mutable_member();
      const v1::Member& source = dup_source_->second;
      m->set_name(source.name());
      m->set_gender(source.gender());
      m->set_id_number(source.id_number());
      is_duplicate = true;
    } else if (i == 0 && !dup_source_.has_value() && !host.empty()) {
      dup_source_.emplace(host, req.member());
    }
    auto resp = api_.Call(
        actor, &Stub::AddMember, req,
        absl::StrCat("AddMember #", i + 1, " to ", Describe(actor.org), " as '",
                     actor.username, "'"));
    if (resp.ok()) {
      ++report_.members_added;
      if (is_duplicate) {
        cross_node_duplicate_done_ = true;
        ++report_.cross_node_duplicates;
      }
    } else if (absl::IsAlreadyExists(resp.status())) {
      ++report_.duplicate_members;  // The ID number is already registered.
    } else {
      return resp.status();
    }
  }
  return absl::OkStatus();
}

absl::Status Driver::Grassroots(const Actor& parent,
                                const ChangshaRegion* region,
                                const std::string& username_prefix) {
  for (int g = 0; g < options_.grassroots; ++g) {
    const Fate fate = fates_[next_fate_++];
    const bool joint = plan_.Chance(20);
    const std::string company =
        profiles_.CompanyName(region != nullptr ? region->name : "");
    ChildSpec spec;
    spec.name = joint ? absl::StrCat(company, "等企业联合工会")
                      : absl::StrCat(company, "工会");
    spec.kind = joint ? v1::JOINT_GRASSROOTS : v1::INDEPENDENT_GRASSROOTS;
    spec.username = absl::StrCat(username_prefix, "-g", g + 1);
    ASSIGN_OR_RETURN(v1::CreateChildOrgResponse created,
                     CreateChild(parent, spec));
    if (fate == Fate::kNeverActivated) {
      // The letter with the initial password is still in someone's drawer.
      ++report_.orgs_never_activated;
      continue;
    }
    ASSIGN_OR_RETURN(Actor actor, Activate(parent, created, region, fate));
    RETURN_IF_ERROR(AddMembers(actor));
    RETURN_IF_ERROR(Logout(actor));
  }
  return absl::OkStatus();
}

void Driver::Progress(const std::string& unit, int64_t orgs_before,
                      int64_t members_before) {
  ++units_done_;
  if (!options_.progress) return;
  options_.progress(absl::StrFormat(
      "[%d/%d] %s：新建组织 %d 个，新增会员 %d 人（累计 RPC %d 次）",
      units_done_, units_total_, unit, report_.orgs_created - orgs_before,
      report_.members_added - members_before, report_.rpcs));
}

absl::Status Driver::District(const Actor& city, const ChangshaRegion& region) {
  const int64_t orgs_before = report_.orgs_created;
  const int64_t members_before = report_.members_added;
  const ChildSpec spec = DistrictSpec(region);
  Actor district;
  if (auto it = prepared_.find(spec.id); it != prepared_.end()) {
    district = it->second;
  } else {
    ASSIGN_OR_RETURN(v1::CreateChildOrgResponse created,
                     CreateChild(city, spec));
    ASSIGN_OR_RETURN(district,
                     Activate(city, created, &region, Fate::kComplete));
  }
  for (int t = 0; t < options_.townships; ++t) {
    const ChildSpec township_spec = TownshipSpec(region, district.org.id(), t);
    Actor township;
    if (auto it = prepared_.find(township_spec.id); it != prepared_.end()) {
      township = it->second;
    } else {
      ASSIGN_OR_RETURN(v1::CreateChildOrgResponse created,
                       CreateChild(district, township_spec));
      ASSIGN_OR_RETURN(township,
                       Activate(district, created, &region, Fate::kComplete));
    }
    RETURN_IF_ERROR(Grassroots(township, &region, township_spec.username));
    RETURN_IF_ERROR(Logout(township));
  }
  RETURN_IF_ERROR(Logout(district));
  Progress(district.org.name(), orgs_before, members_before);
  return absl::OkStatus();
}

absl::Status Driver::Industry(const Actor& city, const IndustrySystem& system) {
  const int64_t orgs_before = report_.orgs_created;
  const int64_t members_before = report_.members_added;
  ChildSpec spec;
  spec.name = absl::StrCat("长沙市", system.name, "工会");
  spec.kind = v1::INDUSTRY_UNION;
  spec.system = system.code;
  spec.username = absl::StrCat("i-", system.code);
  std::replace(spec.username.begin(), spec.username.end(), '_', '-');
  ASSIGN_OR_RETURN(v1::CreateChildOrgResponse created, CreateChild(city, spec));
  ASSIGN_OR_RETURN(Actor industry,
                   Activate(city, created, nullptr, Fate::kComplete));
  RETURN_IF_ERROR(Grassroots(industry, nullptr, spec.username));
  RETURN_IF_ERROR(Logout(industry));
  Progress(created.org().name(), orgs_before, members_before);
  return absl::OkStatus();
}

// Orders ids like "430100.2" before "430100.10": numeric parts as numbers.
bool NaturalIdLess(const std::string& a, const std::string& b) {
  std::vector<absl::string_view> pa = absl::StrSplit(a, '.');
  std::vector<absl::string_view> pb = absl::StrSplit(b, '.');
  for (size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
    uint64_t na = 0, nb = 0;
    if (absl::SimpleAtoi(pa[i], &na) && absl::SimpleAtoi(pb[i], &nb)) {
      if (na != nb) return na < nb;
    } else if (pa[i] != pb[i]) {
      return pa[i] < pb[i];
    }
  }
  return pa.size() < pb.size();
}

absl::StatusOr<SummaryRow> Driver::Summary(const Actor& reader,
                                           const std::string& org_id) {
  v1::GetSubtreeSummaryRequest req;
  req.set_org_id(org_id);
  ASSIGN_OR_RETURN(
      v1::GetSubtreeSummaryResponse resp,
      api_.Call(reader, &Stub::GetSubtreeSummary, req,
                absl::StrCat("GetSubtreeSummary of ", org_id, " as '",
                             reader.username, "' at node ", reader.node)));
  SummaryRow row;
  row.org_id = resp.org().id();
  row.name = resp.org().name();
  row.kind = resp.org().kind();
  row.direct_children = resp.direct_children();
  row.counters = resp.counters();
  return row;
}

absl::Status Driver::AwaitReplication(const std::string& city_password) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options_.replication_deadline;
  // Staff log in again, each at their own node.
  std::map<std::string, Actor> readers;
  ASSIGN_OR_RETURN(readers[hub_id_],
                   Login(options_.target, options_.admin_user, city_password,
                         "the city (checking replication)"));
  readers[hub_id_].node = hub_id_;
  std::vector<std::string> ids;
  for (const auto& [id, admin] : node_admins_) {
    ASSIGN_OR_RETURN(
        readers[id],
        Login(admin.target, admin.username, admin.password,
              absl::StrCat(Describe(admin.org), " (checking replication)")));
    readers[id].node = id;
    ids.push_back(id);
  }
  // Nodes by tier, then id: tier 2 has no '.' in its id.
  std::sort(ids.begin(), ids.end(),
            [&](const std::string& a, const std::string& b) {
              const int ta = node_admins_.at(a).org.tier(),
                        tb = node_admins_.at(b).org.tier();
              return ta != tb ? ta < tb : NaturalIdLess(a, b);
            });

  // What the hub must hold: everything the run entered.
  const int64_t orgs = 1 + report_.orgs_created;
  const int64_t activated = orgs - report_.orgs_never_activated;
  std::string waiting_for;
  while (true) {
    std::vector<NodeRow> rows;
    waiting_for.clear();
    ASSIGN_OR_RETURN(SummaryRow city, Summary(readers.at(hub_id_), hub_id_));
    const v1::SubtreeCounters& c = city.counters;
    if (c.orgs() != orgs || c.activated_orgs() != activated ||
        c.grassroots_orgs() != report_.grassroots_created ||
        c.members() != report_.members_added) {
      absl::StrAppend(&waiting_for, " the hub holds ", c.orgs(), "/", orgs,
                      " organisations, ", c.activated_orgs(), "/", activated,
                      " activated, ", c.members(), "/", report_.members_added,
                      " members;");
    }
    NodeRow hub;
    hub.node_id = hub_id_;
    hub.name = city.name;
    hub.tier = 1;
    hub.counters = c;
    rows.push_back(std::move(hub));
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(SummaryRow own, Summary(readers.at(id), id));
      const std::string& parent = parent_node_.at(id);
      ASSIGN_OR_RETURN(SummaryRow seen, Summary(readers.at(parent), id));
      if (own.counters.SerializeAsString() !=
          seen.counters.SerializeAsString()) {
        absl::StrAppend(&waiting_for, " node ", parent, " reads ",
                        seen.counters.orgs(), " organisations and ",
                        seen.counters.members(), " members under ", id,
                        ", node ", id, " itself ", own.counters.orgs(), " and ",
                        own.counters.members(), ";");
      }
      NodeRow row;
      row.node_id = id;
      row.name = own.name;
      row.tier = node_admins_.at(id).org.tier();
      row.parent_node = parent;
      row.counters = own.counters;
      row.at_parent = seen.counters;
      rows.push_back(std::move(row));
    }
    if (waiting_for.empty()) {
      report_.nodes = std::move(rows);
      break;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("replication did not complete within ",
                       absl::FormatDuration(options_.replication_deadline), ":",
                       waiting_for, " see GetReplicationStatus at each node"));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  report_.replication_wait = absl::Now() - start;
  Say(absl::StrFormat(
      "枢纽已收齐全部节点的数据（等待 %.1f 秒），各节点摘要一致",
      absl::ToDoubleSeconds(report_.replication_wait)));

  for (NodeRow& row : report_.nodes) {
    const Actor& reader = readers.at(row.node_id);
    ASSIGN_OR_RETURN(
        row.replication,
        api_.Call(reader, &Stub::GetReplicationStatus,
                  v1::GetReplicationStatusRequest(),
                  absl::StrCat("GetReplicationStatus at node ", row.node_id,
                               " as '", reader.username, "'")));
    row.read_at_ms = absl::ToUnixMillis(absl::Now());
  }
  for (const auto& [id, reader] : readers) RETURN_IF_ERROR(Logout(reader));
  return absl::OkStatus();
}

absl::Status Driver::Summaries(const std::string& password) {
  ASSIGN_OR_RETURN(Actor city,
                   Login(options_.target, options_.admin_user, password,
                         "the city (reading the summaries)"));
  city.node = hub_id_;
  ASSIGN_OR_RETURN(report_.city, Summary(city, city.org.id()));
  city.org.set_name(report_.city.name);
  std::vector<v1::Org> children;
  v1::ListChildOrgsRequest list;
  list.set_parent_id(city.org.id());
  list.set_page_size(1000);
  do {
    ASSIGN_OR_RETURN(
        v1::ListChildOrgsResponse page,
        api_.Call(city, &Stub::ListChildOrgs, list,
                  absl::StrCat("ListChildOrgs of ", Describe(city.org))));
    for (const v1::Org& o : page.orgs()) children.push_back(o);
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  // Districts (by region code) before the city-wide unions.
  auto rank = [](const v1::Org& o) {
    return o.kind() == v1::DISTRICT_FEDERATION ||
                   o.kind() == v1::DEV_ZONE_FEDERATION
               ? 0
               : 1;
  };
  std::sort(children.begin(), children.end(),
            [&](const v1::Org& a, const v1::Org& b) {
              if (rank(a) != rank(b)) return rank(a) < rank(b);
              return NaturalIdLess(a.id(), b.id());
            });
  for (const v1::Org& o : children) {
    ASSIGN_OR_RETURN(SummaryRow row, Summary(city, o.id()));
    report_.units.push_back(std::move(row));
  }
  return Logout(city);
}

absl::StatusOr<DemoReport> Driver::Run() {
  const absl::Time start = absl::Now();
  const int total_grassroots =
      options_.districts * options_.townships * options_.grassroots +
      options_.industries * options_.grassroots;
  units_total_ = options_.districts + options_.industries;

  // Decide up front, from the seed alone, which grassroots unions fall behind:
  // exact shares rather than coin flips, so small trees show them too.
  std::vector<int> order(total_grassroots);
  for (int i = 0; i < total_grassroots; ++i) order[i] = i;
  for (int i = total_grassroots - 1; i > 0; --i) {
    std::swap(order[i], order[plan_.Uniform(static_cast<uint64_t>(i) + 1)]);
  }
  const int inactive =
      (total_grassroots * options_.inactive_percent + 50) / 100;
  const int incomplete =
      std::min(total_grassroots - inactive,
               (total_grassroots * options_.incomplete_percent + 50) / 100);
  fates_.assign(total_grassroots, Fate::kComplete);
  for (int i = 0; i < inactive + incomplete; ++i) {
    fates_[order[i]] = i < inactive ? Fate::kNeverActivated : Fate::kIncomplete;
  }

  // 1. The city's administrator: first login, new password, own profile.
  ASSIGN_OR_RETURN(Actor city, Login(options_.target, options_.admin_user,
                                     options_.admin_password, "the city"));
  // WhoAmI works before the password change; GetOrg does not.
  ASSIGN_OR_RETURN(v1::WhoAmIResponse who,
                   api_.Call(city, &Stub::WhoAmI, v1::WhoAmIRequest(),
                             absl::StrCat("WhoAmI as '", city.username, "'")));
  hub_id_ = who.node_id().empty() ? city.org.id() : who.node_id();
  city.node = hub_id_;
  if (who.must_change_password()) {
    std::string password = options_.admin_new_password;
    if (password.empty()) {
      ASSIGN_OR_RETURN(password, NewPassword(city.username));
    }
    RETURN_IF_ERROR(ChangePassword(city, password));
    report_.admin_new_password = password;
    if (options_.admin_password_changed) {
      options_.admin_password_changed(password);
    }
  }
  v1::GetOrgRequest get_org;
  get_org.set_org_id(city.org.id());
  ASSIGN_OR_RETURN(v1::GetOrgResponse org,
                   api_.Call(city, &Stub::GetOrg, get_org,
                             absl::StrCat("GetOrg of ", city.org.id(), " as '",
                                          city.username, "'")));
  city.org = org.org();
  if (city.org.kind() != v1::CITY_FEDERATION) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", city.username, "' administers ", Describe(city.org),
                     ", a ", OrgKindLabel(city.org.kind()),
                     "; the demo starts from the city federation (tier 1)"));
  }
  if (city.org.profile_completeness() < 100) {
    RETURN_IF_ERROR(CompleteProfile(city, nullptr, Fate::kComplete));
  }

  // 2 and 3: the tree below; first the organisations that run their own
  // node, tier by tier, then one tier-2 organisation at a time.
  RETURN_IF_ERROR(PrepareNodes(city));
  for (int d = 0; d < options_.districts; ++d) {
    RETURN_IF_ERROR(District(city, ChangshaRegions()[d]));
  }
  for (int i = 0; i < options_.industries; ++i) {
    RETURN_IF_ERROR(Industry(city, IndustrySystems()[i]));
  }
  RETURN_IF_ERROR(Logout(city));

  // 4. Multi-node: wait until the hub holds everything. Then log in again, as
  // staff would the next morning, and read the counts.
  if (!node_admins_.empty()) RETURN_IF_ERROR(AwaitReplication(city.password));
  RETURN_IF_ERROR(Summaries(city.password));
  report_.elapsed = absl::Now() - start;
  return std::move(report_);
}

absl::Status CheckRange(absl::string_view name, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": must be between ", lo, " and ", hi, ", got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DemoReport> RunDemo(const DemoOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("target: the node's host:port is needed");
  }
  if (options.admin_user.empty() || options.admin_password.empty()) {
    return absl::InvalidArgumentError(
        "admin_user and admin_password: the city administrator's username "
        "and (initial) password are needed");
  }
  if (!options.admin_new_password.empty()) {
    RETURN_IF_ERROR(CheckPasswordPolicy(options.admin_new_password));
  }
  RETURN_IF_ERROR(CheckRange("districts", options.districts, 0,
                             static_cast<int>(ChangshaRegions().size())));
  RETURN_IF_ERROR(CheckRange("industries", options.industries, 0,
                             static_cast<int>(IndustrySystems().size())));
  RETURN_IF_ERROR(CheckRange("townships", options.townships, 0, 100));
  RETURN_IF_ERROR(CheckRange("grassroots", options.grassroots, 0, 1000));
  RETURN_IF_ERROR(CheckRange("members", options.members, 0, 100000));
  RETURN_IF_ERROR(
      CheckRange("inactive_percent", options.inactive_percent, 0, 100));
  RETURN_IF_ERROR(
      CheckRange("incomplete_percent", options.incomplete_percent, 0, 100));
  if (options.rpc_deadline <= absl::ZeroDuration() ||
      options.replication_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "rpc_deadline and replication_deadline: must be positive");
  }
  for (const auto& [id, target] : options.nodes) {
    bool known = false;
    for (int d = 0; d < options.districts && !known; ++d) {
      const std::string code = ChangshaRegions()[d].code;
      known = id == code;
      for (int t = 0; t < options.townships && !known; ++t) {
        known = id == TownshipId(code, t);
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "nodes: '", id,
          "' is not an organisation of the demo tree that can run its own "
          "node (a district's region code such as 430102, or a township "
          "such as 430102.1, within --districts and --townships)"));
    }
    if (target.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("nodes: no Admin API address for node '", id, "'"));
    }
  }
  Driver driver(options);
  return driver.Run();
}

}  // namespace unionsync
