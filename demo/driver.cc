#include "demo/driver.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/org_rules.h"
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

// A logged-in data administrator.
struct Actor {
  std::string username;
  std::string token;
  v1::Org org;
};

// The typed Admin API client: deadlines, bearer metadata, RPC counting and
// error messages that name the step.
class Api {
 public:
  Api(const DemoOptions& options, int64_t* rpcs)
      : target_(options.target),
        deadline_(options.rpc_deadline),
        rpcs_(rpcs),
        stub_(v1::AdminService::NewStub(grpc::CreateChannel(
            options.target, grpc::InsecureChannelCredentials()))) {}

  template <typename Req, typename Resp>
  using Method = grpc::Status (v1::AdminService::Stub::*)(grpc::ClientContext*,
                                                          const Req&, Resp*);

  // Issues one RPC. On failure the status keeps the RPC's code and its message
  // reads "<step>: <server message>".
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(Method<Req, Resp> method, const std::string& token,
                            const Req& req, absl::string_view step) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    ++*rpcs_;
    Resp resp;
    const grpc::Status s = (stub_.get()->*method)(&ctx, req, &resp);
    if (s.ok()) return resp;
    std::string message = absl::StrCat(step, ": ", s.error_message());
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      absl::StrAppend(&message, " (is unionsync-node serving on ", target_,
                      "?)");
    } else if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      absl::StrAppend(&message, " (no answer within ",
                      absl::FormatDuration(deadline_), ")");
    }
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), message);
  }

 private:
  const std::string target_;
  const absl::Duration deadline_;
  int64_t* const rpcs_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

using Stub = v1::AdminService::Stub;

class Driver {
 public:
  explicit Driver(const DemoOptions& options)
      : options_(options),
        api_(options, &report_.rpcs),
        plan_(options.seed ^ 0x9e3779b97f4a7c15ull),
        profiles_(options.seed),
        members_(options.seed + 1) {}

  absl::StatusOr<DemoReport> Run();

 private:
  absl::StatusOr<Actor> Login(const std::string& username,
                              const std::string& password,
                              absl::string_view who);
  absl::Status ChangePassword(const Actor& actor, const std::string& old_pw,
                              const std::string& new_pw);
  absl::Status Logout(const Actor& actor);
  // Logs in with the initial password, changes it and, unless `fate` says
  // otherwise, completes the profile. `region` places the address (null for
  // city-wide organisations).
  absl::StatusOr<Actor> Activate(const v1::CreateChildOrgResponse& created,
                                 const ChangshaRegion* region, Fate fate);
  absl::Status CompleteProfile(Actor& actor, const ChangshaRegion* region,
                               Fate fate);
  absl::StatusOr<v1::CreateChildOrgResponse> CreateChild(
      const Actor& parent, const std::string& name, v1::OrgKind kind,
      const std::string& region, const std::string& system,
      const std::string& username);
  // Registers the grassroots unions under `parent` and runs each one's life:
  // activation, profile, members.
  absl::Status Grassroots(const Actor& parent, const ChangshaRegion* region,
                          const std::string& username_prefix);
  absl::Status AddMembers(const Actor& actor);
  absl::Status District(const Actor& city, const ChangshaRegion& region);
  absl::Status Industry(const Actor& city, const IndustrySystem& system);
  absl::Status Summaries(const std::string& password);
  void Progress(const std::string& unit, int64_t orgs_before,
                int64_t members_before);

  const DemoOptions& options_;
  DemoReport report_;
  Api api_;
  SynthGenerator plan_;      // Decisions: fates, grassroots kinds.
  SynthGenerator profiles_;  // Names and profiles.
  SynthGenerator members_;   // Member records.
  std::vector<Fate> fates_;  // One per grassroots union, in creation order.
  size_t next_fate_ = 0;
  int units_done_ = 0;
  int units_total_ = 0;
};

absl::StatusOr<Actor> Driver::Login(const std::string& username,
                                    const std::string& password,
                                    absl::string_view who) {
  v1::LoginRequest req;
  req.set_username(username);
  req.set_password(password);
  ASSIGN_OR_RETURN(
      v1::LoginResponse resp,
      api_.Call(&Stub::Login, "", req,
                absl::StrCat("Login as '", username, "' for ", who)));
  Actor actor;
  actor.username = username;
  actor.token = resp.token();
  actor.org.set_id(resp.org_id());
  return actor;
}

absl::Status Driver::ChangePassword(const Actor& actor,
                                    const std::string& old_pw,
                                    const std::string& new_pw) {
  v1::ChangePasswordRequest req;
  req.set_old_password(old_pw);
  req.set_new_password(new_pw);
  return api_
      .Call(&Stub::ChangePassword, actor.token, req,
            absl::StrCat("ChangePassword of '", actor.username, "' for ",
                         Describe(actor.org)))
      .status();
}

absl::Status Driver::Logout(const Actor& actor) {
  return api_
      .Call(&Stub::Logout, actor.token, v1::LogoutRequest(),
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
      api_.Call(&Stub::UpdateOrgProfile, actor.token, req,
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
    const v1::CreateChildOrgResponse& created, const ChangshaRegion* region,
    Fate fate) {
  ASSIGN_OR_RETURN(Actor actor,
                   Login(created.admin_username(), created.initial_password(),
                         Describe(created.org())));
  actor.org = created.org();
  ASSIGN_OR_RETURN(std::string password, GenerateInitialPassword());
  RETURN_IF_ERROR(ChangePassword(actor, created.initial_password(), password));
  RETURN_IF_ERROR(CompleteProfile(actor, region, fate));
  return actor;
}

absl::StatusOr<v1::CreateChildOrgResponse> Driver::CreateChild(
    const Actor& parent, const std::string& name, v1::OrgKind kind,
    const std::string& region, const std::string& system,
    const std::string& username) {
  v1::CreateChildOrgRequest req;
  req.set_parent_id(parent.org.id());
  req.mutable_org()->set_name(name);
  req.mutable_org()->set_kind(kind);
  req.mutable_org()->set_region(region);
  req.mutable_org()->set_system(system);
  req.set_admin_username(username);
  req.set_admin_display_name(
      absl::StrCat(profiles_.PersonName(), "（信息管理员）"));
  auto resp =
      api_.Call(&Stub::CreateChildOrg, parent.token, req,
                absl::StrCat("CreateChildOrg of ", name, " (admin '", username,
                             "') under ", Describe(parent.org)));
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
  if (IsGrassroots(kind)) ++report_.grassroots_created;
  return resp;
}

absl::Status Driver::AddMembers(const Actor& actor) {
  for (int i = 0; i < options_.members; ++i) {
    v1::AddMemberRequest req;
    *req.mutable_member() = members_.Member(actor.org.id());
    auto resp = api_.Call(
        &Stub::AddMember, actor.token, req,
        absl::StrCat("AddMember #", i + 1, " to ", Describe(actor.org), " as '",
                     actor.username, "'"));
    if (resp.ok()) {
      ++report_.members_added;
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
    const std::string name = joint ? absl::StrCat(company, "等企业联合工会")
                                   : absl::StrCat(company, "工会");
    ASSIGN_OR_RETURN(
        v1::CreateChildOrgResponse created,
        CreateChild(parent, name,
                    joint ? v1::JOINT_GRASSROOTS : v1::INDEPENDENT_GRASSROOTS,
                    "", "", absl::StrCat(username_prefix, "-g", g + 1)));
    if (fate == Fate::kNeverActivated) {
      // The letter with the initial password is still in someone's drawer.
      ++report_.orgs_never_activated;
      continue;
    }
    ASSIGN_OR_RETURN(Actor actor, Activate(created, region, fate));
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
  const std::string username = absl::StrCat("d", region.code);
  ASSIGN_OR_RETURN(
      v1::CreateChildOrgResponse created,
      CreateChild(city, absl::StrCat(region.name, "总工会"),
                  v1::DISTRICT_FEDERATION, region.code, "", username));
  ASSIGN_OR_RETURN(Actor district, Activate(created, &region, Fate::kComplete));
  for (int t = 0; t < options_.townships; ++t) {
    const std::string township_user = absl::StrCat(username, "-t", t + 1);
    ASSIGN_OR_RETURN(
        v1::CreateChildOrgResponse township_created,
        CreateChild(district,
                    absl::StrCat(TownshipName(region, t), "工会联合会"),
                    v1::TOWNSHIP_FEDERATION, "", "", township_user));
    ASSIGN_OR_RETURN(Actor township,
                     Activate(township_created, &region, Fate::kComplete));
    RETURN_IF_ERROR(Grassroots(township, &region, township_user));
    RETURN_IF_ERROR(Logout(township));
  }
  RETURN_IF_ERROR(Logout(district));
  Progress(created.org().name(), orgs_before, members_before);
  return absl::OkStatus();
}

absl::Status Driver::Industry(const Actor& city, const IndustrySystem& system) {
  const int64_t orgs_before = report_.orgs_created;
  const int64_t members_before = report_.members_added;
  std::string username = absl::StrCat("i-", system.code);
  std::replace(username.begin(), username.end(), '_', '-');
  ASSIGN_OR_RETURN(
      v1::CreateChildOrgResponse created,
      CreateChild(city, absl::StrCat("长沙市", system.name, "工会"),
                  v1::INDUSTRY_UNION, "", system.code, username));
  ASSIGN_OR_RETURN(Actor industry, Activate(created, nullptr, Fate::kComplete));
  RETURN_IF_ERROR(Grassroots(industry, nullptr, username));
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

absl::Status Driver::Summaries(const std::string& password) {
  ASSIGN_OR_RETURN(Actor city, Login(options_.admin_user, password,
                                     "the city (reading the summaries)"));
  auto summary = [&](const std::string& org_id) -> absl::StatusOr<SummaryRow> {
    v1::GetSubtreeSummaryRequest req;
    req.set_org_id(org_id);
    ASSIGN_OR_RETURN(v1::GetSubtreeSummaryResponse resp,
                     api_.Call(&Stub::GetSubtreeSummary, city.token, req,
                               absl::StrCat("GetSubtreeSummary of ", org_id,
                                            " as '", city.username, "'")));
    SummaryRow row;
    row.org_id = resp.org().id();
    row.name = resp.org().name();
    row.kind = resp.org().kind();
    row.direct_children = resp.direct_children();
    row.counters = resp.counters();
    return row;
  };
  ASSIGN_OR_RETURN(report_.city, summary(city.org.id()));
  city.org.set_name(report_.city.name);
  std::vector<std::string> children;
  v1::ListChildOrgsRequest list;
  list.set_parent_id(city.org.id());
  list.set_page_size(1000);
  do {
    ASSIGN_OR_RETURN(
        v1::ListChildOrgsResponse page,
        api_.Call(&Stub::ListChildOrgs, city.token, list,
                  absl::StrCat("ListChildOrgs of ", Describe(city.org))));
    for (const v1::Org& o : page.orgs()) children.push_back(o.id());
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  std::sort(children.begin(), children.end(), NaturalIdLess);
  for (const std::string& id : children) {
    ASSIGN_OR_RETURN(SummaryRow row, summary(id));
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
  ASSIGN_OR_RETURN(Actor city, Login(options_.admin_user,
                                     options_.admin_password, "the city"));
  // WhoAmI works before the password change; GetOrg does not.
  ASSIGN_OR_RETURN(v1::WhoAmIResponse who,
                   api_.Call(&Stub::WhoAmI, city.token, v1::WhoAmIRequest(),
                             absl::StrCat("WhoAmI as '", city.username, "'")));
  std::string password = options_.admin_password;
  if (who.must_change_password()) {
    password = options_.admin_new_password;
    if (password.empty()) {
      ASSIGN_OR_RETURN(password, GenerateInitialPassword());
    }
    RETURN_IF_ERROR(ChangePassword(city, options_.admin_password, password));
    report_.admin_new_password = password;
    if (options_.admin_password_changed) {
      options_.admin_password_changed(password);
    }
  }
  v1::GetOrgRequest get_org;
  get_org.set_org_id(city.org.id());
  ASSIGN_OR_RETURN(v1::GetOrgResponse org,
                   api_.Call(&Stub::GetOrg, city.token, get_org,
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

  // 2 and 3: the tree below, one tier-2 organisation at a time.
  for (int d = 0; d < options_.districts; ++d) {
    RETURN_IF_ERROR(District(city, ChangshaRegions()[d]));
  }
  for (int i = 0; i < options_.industries; ++i) {
    RETURN_IF_ERROR(Industry(city, IndustrySystems()[i]));
  }
  RETURN_IF_ERROR(Logout(city));

  // 4. Log in again, as staff would the next morning, and read the counts.
  RETURN_IF_ERROR(Summaries(password));
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

// Counters of the city's own organisation: the city's subtree minus the
// subtrees of its children (which are disjoint).
v1::SubtreeCounters OwnCounters(const DemoReport& r) {
  v1::SubtreeCounters own = r.city.counters;
  for (const SummaryRow& u : r.units) {
    own.set_orgs(own.orgs() - u.counters.orgs());
    own.set_grassroots_orgs(own.grassroots_orgs() -
                            u.counters.grassroots_orgs());
    own.set_profile_complete(own.profile_complete() -
                             u.counters.profile_complete());
    own.set_activated_orgs(own.activated_orgs() - u.counters.activated_orgs());
    own.set_members(own.members() - u.counters.members());
    own.set_migrant_members(own.migrant_members() -
                            u.counters.migrant_members());
  }
  return own;
}

std::string Pad(absl::string_view s, int width, bool right) {
  const int pad = std::max(0, width - DisplayWidth(s));
  return right ? absl::StrCat(std::string(pad, ' '), s)
               : absl::StrCat(s, std::string(pad, ' '));
}

std::string Percent(int64_t part, int64_t whole) {
  if (whole == 0) return "—";
  return absl::StrFormat("%.1f%%", 100.0 * part / whole);
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", static_cast<int>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string JsonRow(const SummaryRow& row) {
  std::string out = "{\"org_id\": ";
  AppendJsonString(&out, row.org_id);
  out.append(", \"name\": ");
  AppendJsonString(&out, row.name);
  out.append(", \"kind\": ");
  AppendJsonString(&out, OrgKindCode(row.kind));
  const v1::SubtreeCounters& c = row.counters;
  absl::StrAppend(&out, ", \"direct_children\": ", row.direct_children,
                  ", \"orgs\": ", c.orgs(),
                  ", \"grassroots_orgs\": ", c.grassroots_orgs(),
                  ", \"profile_complete\": ", c.profile_complete(),
                  ", \"activated_orgs\": ", c.activated_orgs(),
                  ", \"members\": ", c.members(),
                  ", \"migrant_members\": ", c.migrant_members(),
                  ", \"accounts\": ", c.accounts(), "}");
  return out;
}

}  // namespace

int DisplayWidth(absl::string_view s) {
  int width = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && c < 0xF8) {
      len = 4;
      cp = c & 0x07;
    } else if (c >= 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xC0) {
      len = 2;
      cp = c & 0x1F;
    }
    if (len > 1 && i + len <= s.size()) {
      for (size_t k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
    } else {
      len = 1;  // Stray or truncated byte: one column.
      cp = c;
    }
    const bool wide =
        (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
    i += len;
  }
  return width;
}

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
  if (options.rpc_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("rpc_deadline: must be positive");
  }
  Driver driver(options);
  return driver.Run();
}

std::string FormatReport(const DemoReport& r) {
  const char* kHeaders[] = {"单位",   "组织数", "基层工会", "资料完整",
                            "已激活", "会员数", "农民工"};
  struct Line {
    std::string name;
    v1::SubtreeCounters c;
  };
  std::vector<Line> lines;
  for (const SummaryRow& u : r.units) lines.push_back({u.name, u.counters});
  lines.push_back({absl::StrCat(r.city.name, "（本级）"), OwnCounters(r)});
  const Line total{absl::StrCat("合计（", r.city.name, "）"), r.city.counters};

  auto cells = [](const Line& l) {
    return std::vector<std::string>{l.name,
                                    absl::StrCat(l.c.orgs()),
                                    absl::StrCat(l.c.grassroots_orgs()),
                                    absl::StrCat(l.c.profile_complete()),
                                    absl::StrCat(l.c.activated_orgs()),
                                    absl::StrCat(l.c.members()),
                                    absl::StrCat(l.c.migrant_members())};
  };
  std::vector<std::vector<std::string>> table;
  table.emplace_back(std::begin(kHeaders), std::end(kHeaders));
  for (const Line& l : lines) table.push_back(cells(l));
  table.push_back(cells(total));
  std::vector<int> widths(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  int total_width = 0;
  for (int w : widths) total_width += w;
  total_width += 2 * (static_cast<int>(widths.size()) - 1);

  std::string out = absl::StrCat(r.city.name, " 工会组织与会员数据汇总\n");
  auto emit = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out.append("  ");
      out.append(Pad(row[i], widths[i], /*right=*/i > 0));
    }
    out.push_back('\n');
  };
  const std::string rule(total_width, '-');
  emit(table[0]);
  absl::StrAppend(&out, rule, "\n");
  for (size_t i = 1; i + 1 < table.size(); ++i) emit(table[i]);
  absl::StrAppend(&out, rule, "\n");
  emit(table.back());

  const v1::SubtreeCounters& c = r.city.counters;
  absl::StrAppendFormat(&out, "资料完整率 %s，激活率 %s，农民工占会员 %s\n",
                        Percent(c.profile_complete(), c.orgs()),
                        Percent(c.activated_orgs(), c.orgs()),
                        Percent(c.migrant_members(), c.members()));
  absl::StrAppendFormat(
      &out,
      "本次新建组织 %d 个（基层工会 %d 个），未激活 %d 个，资料未完整 %d 个；"
      "新增会员 %d 人，身份证号重复跳过 %d 人\n",
      r.orgs_created, r.grassroots_created, r.orgs_never_activated,
      r.orgs_left_incomplete, r.members_added, r.duplicate_members);
  absl::StrAppendFormat(&out, "耗时 %.1f 秒，共调用 RPC %d 次\n",
                        absl::ToDoubleSeconds(r.elapsed), r.rpcs);
  return out;
}

std::string FormatReportJson(const DemoReport& r) {
  std::string out = "{\n  \"city\": ";
  absl::StrAppend(&out, JsonRow(r.city), ",\n  \"units\": [");
  for (size_t i = 0; i < r.units.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "\n    " : ",\n    ", JsonRow(r.units[i]));
  }
  absl::StrAppend(&out, r.units.empty() ? "],\n" : "\n  ],\n");
  absl::StrAppendFormat(
      &out,
      "  \"run\": {\"orgs_created\": %d, \"grassroots_created\": %d, "
      "\"orgs_never_activated\": %d, \"orgs_left_incomplete\": %d, "
      "\"members_added\": %d, \"duplicate_members\": %d, \"rpcs\": %d, "
      "\"elapsed_seconds\": %.3f}\n}\n",
      r.orgs_created, r.grassroots_created, r.orgs_never_activated,
      r.orgs_left_incomplete, r.members_added, r.duplicate_members, r.rpcs,
      absl::ToDoubleSeconds(r.elapsed));
  return out;
}

}  // namespace unionsync
