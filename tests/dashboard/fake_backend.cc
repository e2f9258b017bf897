#include "dashboard/fake_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace unionsync::testing {
namespace {

v1::Progress Row(const std::string& scope, const std::string& label,
                 int64_t expected_grassroots, int64_t grassroots,
                 int64_t expected_members, int64_t members, bool behind) {
  v1::Progress p;
  p.set_scope(scope);
  p.set_label(label);
  p.set_expected_grassroots(expected_grassroots);
  p.set_expected_members(expected_members);
  p.set_grassroots(grassroots);
  p.set_orgs(grassroots + grassroots / 10 + 1);
  p.set_members(members);
  p.set_profile_complete(grassroots * 3 / 4);
  p.set_activated(grassroots * 9 / 10);
  p.set_with_members(grassroots * 8 / 10);
  p.set_new_grassroots_today(grassroots / 100);
  p.set_new_members_today(members / 200);
  p.set_new_grassroots_week(grassroots / 20);
  p.set_new_members_week(members / 30);
  p.set_target_grassroots_today(expected_grassroots * 6 / 10);
  p.set_target_members_today(expected_members * 6 / 10);
  p.set_grassroots_ratio(
      expected_grassroots > 0 ? double(grassroots) / expected_grassroots : 0);
  p.set_members_ratio(expected_members > 0 ? double(members) / expected_members
                                           : 0);
  p.set_behind(behind);
  p.set_open_warnings(behind ? 2 : 0);
  return p;
}

}  // namespace

FakeBackend::FakeBackend() = default;

absl::StatusOr<std::string> FakeBackend::Login(const std::string& username,
                                               const std::string& password,
                                               const std::string& peer) {
  absl::MutexLock lock(&mu_);
  ++logins_;
  last_peer_ = peer;
  auto it = failures_.find("Login");
  if (it != failures_.end() && !it->second.ok()) return it->second;
  if (username == kInitialUser) {
    return absl::FailedPreconditionError("password must be changed first");
  }
  if (username == kLockedUser) {
    return absl::ResourceExhaustedError("locked out");
  }
  if (username != kGoodUser || password != kGoodPassword) {
    return absl::UnauthenticatedError("bad username or password");
  }
  std::string token = absl::StrCat("tok", next_token_++, "-Zm9v_bar");
  tokens_.insert(token);
  return token;
}

absl::Status FakeBackend::AuthorizeMetrics(const std::string& authorization,
                                           const std::string& session_token,
                                           const std::string& peer) {
  absl::MutexLock lock(&mu_);
  std::string token = session_token;
  if (authorization.rfind("Bearer ", 0) == 0) token = authorization.substr(7);
  if (tokens_.count(token) == 0) {
    return absl::UnauthenticatedError("metrics are for operators");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeBackend::CallJson(const RequestContext& ctx,
                                                  const std::string& method,
                                                  const std::string& json) {
  absl::MutexLock lock(&mu_);
  if (method == "AdminService.Login") {
    std::string token = "tok" + std::to_string(next_token_++);
    tokens_.insert(token);
    return std::string("{\"token\":\"") + token + "\",\"orgId\":\"c\"}";
  }
  if (tokens_.count(ctx.token) == 0) {
    return absl::UnauthenticatedError("no such session");
  }
  return std::string("{\"method\":\"") + method + "\"}";
}

namespace {
class CountingUpload final : public WebUpload {
 public:
  absl::Status Append(const char*, size_t size) override {
    bytes_ += size;
    if (bytes_ > 4096) return absl::ResourceExhaustedError("file too large");
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Run(
      const std::function<void(const std::string&)>& progress,
      const std::atomic<bool>*) override {
    progress(
        absl::StrCat("{\"phase\":\"IMPORT_VALIDATING\",\"counts\":{"
                     "\"bytesReceived\":\"",
                     bytes_, "\"}}"));
    return absl::StrCat(
        "{\"phase\":\"IMPORT_DONE\",\"summary\":{\"ok\":"
        "true,\"message\":\"",
        bytes_, " bytes\"}}");
  }

 private:
  size_t bytes_ = 0;
};
}  // namespace

absl::StatusOr<std::unique_ptr<WebUpload>> FakeBackend::BeginUpload(
    const RequestContext& ctx, const std::string& method,
    const std::string& options_json) {
  absl::MutexLock lock(&mu_);
  if (tokens_.count(ctx.token) == 0) {
    return absl::UnauthenticatedError("no such session");
  }
  if (options_json != "{\"dryRun\":true}") {
    return absl::InvalidArgumentError("unexpected options " + options_json);
  }
  return std::make_unique<CountingUpload>();
}

void FakeBackend::Logout(const std::string& token) {
  absl::MutexLock lock(&mu_);
  ++logouts_;
  tokens_.erase(token);
}

absl::Status FakeBackend::Check(const std::string& method,
                                const RequestContext& ctx) {
  mu_.AssertHeld();
  if (tokens_.count(ctx.token) == 0) {
    return absl::UnauthenticatedError("no such session");
  }
  last_peer_ = ctx.peer;
  auto it = failures_.find(method);
  if (it != failures_.end()) return it->second;
  return absl::OkStatus();
}

v1::GetProgressResponse FakeBackend::Progress(const std::string& view) const {
  v1::GetProgressResponse r;
  r.set_as_of_date("2026-11-27");
  r.set_as_of_ms(1795744800000);
  r.set_campaign("2026年工会实名制数据库建设");
  *r.mutable_total() =
      Row("city", "长沙市", 20000, 12345, 2000000, 812345, false);
  v1::Milestone* m = r.add_milestones();
  m->set_date("2026-12-31");
  m->set_grassroots_fraction(0.8);
  m->set_members(800000);
  m = r.add_milestones();
  m->set_date("2027-06-30");
  m->set_grassroots_fraction(1.0);
  m->set_members_fraction(1.0);
  if (view == "regions") {
    *r.add_rows() =
        Row("region:430102", "芙蓉区", 2000, 812, 200000, 61234, true);
    *r.add_rows() =
        Row("region:430103", "天心区", 1800, 1500, 180000, 150321, false);
    *r.add_rows() =
        Row("region:430104", "岳麓区", 2500, 2100, 260000, 201000, false);
  } else if (view == "systems") {
    *r.add_rows() =
        Row("system:education", "教育系统", 900, 450, 120000, 50000, true);
    *r.add_rows() =
        Row("system:health", "卫生健康系统", 600, 590, 90000, 88000, false);
  } else if (view == "children") {
    *r.add_rows() =
        Row("org:d1", "芙蓉区总工会", 2000, 812, 200000, 61234, true);
  }
  return r;
}

v1::GetTimeSeriesResponse FakeBackend::TimeSeries() const {
  v1::GetTimeSeriesResponse r;
  for (int day = 1; day <= 27; ++day) {
    v1::TimePoint* p = r.add_points();
    p->set_date(absl::StrFormat("2026-11-%02d", day));
    p->set_grassroots(day * 457);
    p->set_members(day * 30087);
    p->set_new_grassroots(457);
    p->set_new_members(30087);
    p->set_target_grassroots(day * 444);
    p->set_target_members(day * 44444);
  }
  return r;
}

v1::ListWarningsResponse FakeBackend::Warnings() const {
  v1::ListWarningsResponse r;
  v1::Warning* w = r.add_warnings();
  w->set_id("BEHIND_TARGET/d1");
  w->set_kind(v1::BEHIND_TARGET);
  w->set_severity(v1::SEVERITY_SERIOUS);
  w->set_org_id("d1");
  w->set_subject("region:430102");
  w->set_text("芙蓉区基层工会录入进度落后于目标（40.6%，目标 60.0%）");
  w->set_open(true);
  w->set_raised_at_ms(1795000000000);
  w->set_escalated_to("430100");
  w = r.add_warnings();
  w->set_id("INITIAL_PASSWORD_UNCHANGED/g7");
  w->set_kind(v1::INITIAL_PASSWORD_UNCHANGED);
  w->set_severity(v1::SEVERITY_NOTICE);
  w->set_org_id("g7");
  w->set_text("<b>初始密码未修改</b>已超过 7 天");
  w->set_open(true);
  w->set_raised_at_ms(1795700000000);
  return r;
}

v1::ListConflictsResponse FakeBackend::Conflicts() const {
  v1::ListConflictsResponse r;
  v1::Conflict* c = r.add_conflicts();
  c->set_id("DUPLICATE_PERSON/k1");
  c->set_kind(v1::DUPLICATE_PERSON);
  c->set_state(v1::CONFLICT_OPEN);
  c->set_detail("同一身份证号（尾号 123X）在两个工会在册");
  c->set_detected_at_ms(1795600000000);
  for (const char* org : {"g1", "g9"}) {
    v1::ConflictSide* side = c->add_sides();
    side->set_org_id(org);
    side->set_node("430102");
    v1::Member* m = side->mutable_member();
    m->set_id(absl::StrCat("m-", org));
    m->set_org_id(org);
    m->set_name("张三");
    m->set_id_number("43010219800101123X");
    m->set_phone("13800000000");
    m->set_status(v1::MEMBER_ACTIVE);
  }
  v1::ConflictSide* side = c->add_sides();
  side->set_org_id("g5");
  side->mutable_org()->set_id("g5");
  side->mutable_org()->set_name("某某公司工会");
  side->mutable_org()->mutable_chair()->set_name("李四");
  side->mutable_org()->mutable_chair()->set_phone("13900000000");
  side->mutable_org()->set_address("长沙市芙蓉区某路 1 号");
  return r;
}

v1::GetSyncFreshnessResponse FakeBackend::Freshness() const {
  v1::GetSyncFreshnessResponse r;
  v1::NodeFreshness* n = r.add_nodes();
  n->set_node_id("430102");
  n->set_org_name("芙蓉区总工会");
  n->set_last_change_ms(1795744000000);
  n->set_last_contact_ms(1795744790000);
  n->set_connected(true);
  n->set_stale_seconds(10);
  n = r.add_nodes();
  n->set_node_id("430103");
  n->set_org_name("天心区总工会");
  n->set_last_change_ms(1795600000000);
  n->set_stale_seconds(144800);
  return r;
}

absl::StatusOr<v1::GetProgressResponse> FakeBackend::GetProgress(
    const RequestContext& ctx, const v1::GetProgressRequest& req) {
  absl::MutexLock lock(&mu_);
  last_progress_ = req;
  absl::Status s = Check("GetProgress", ctx);
  if (!s.ok()) return s;
  std::string view = req.view().empty() ? "city" : req.view();
  return Progress(view);
}

absl::StatusOr<v1::GetTimeSeriesResponse> FakeBackend::GetTimeSeries(
    const RequestContext& ctx, const v1::GetTimeSeriesRequest& req) {
  absl::MutexLock lock(&mu_);
  last_timeseries_ = req;
  absl::Status s = Check("GetTimeSeries", ctx);
  if (!s.ok()) return s;
  return TimeSeries();
}

absl::StatusOr<v1::ListWarningsResponse> FakeBackend::ListWarnings(
    const RequestContext& ctx, const v1::ListWarningsRequest& req) {
  absl::MutexLock lock(&mu_);
  last_warnings_ = req;
  absl::Status s = Check("ListWarnings", ctx);
  if (!s.ok()) return s;
  return Warnings();
}

absl::StatusOr<v1::ListConflictsResponse> FakeBackend::ListConflicts(
    const RequestContext& ctx, const v1::ListConflictsRequest& req) {
  absl::MutexLock lock(&mu_);
  last_conflicts_ = req;
  absl::Status s = Check("ListConflicts", ctx);
  if (!s.ok()) return s;
  return Conflicts();
}

absl::StatusOr<v1::GetSyncFreshnessResponse> FakeBackend::GetSyncFreshness(
    const RequestContext& ctx, const v1::GetSyncFreshnessRequest& req) {
  absl::MutexLock lock(&mu_);
  absl::Status s = Check("GetSyncFreshness", ctx);
  if (!s.ok()) return s;
  return Freshness();
}

absl::StatusOr<v1::ExportProgressCsvResponse> FakeBackend::ExportProgressCsv(
    const RequestContext& ctx, const v1::ExportProgressCsvRequest& req) {
  absl::MutexLock lock(&mu_);
  last_csv_ = req;
  absl::Status s = Check("ExportProgressCsv", ctx);
  if (!s.ok()) return s;
  v1::ExportProgressCsvResponse r;
  r.set_csv(kCsv);
  r.set_filename(kCsvFilename);
  return r;
}

std::string FakeBackend::MetricsText() { return kMetrics; }

void FakeBackend::FailWith(const std::string& method, absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    failures_.erase(method);
  } else {
    failures_[method] = std::move(status);
  }
}

void FakeBackend::RevokeAll() {
  absl::MutexLock lock(&mu_);
  tokens_.clear();
}

int FakeBackend::logins() const {
  absl::MutexLock lock(&mu_);
  return logins_;
}
int FakeBackend::logouts() const {
  absl::MutexLock lock(&mu_);
  return logouts_;
}
std::string FakeBackend::last_peer() const {
  absl::MutexLock lock(&mu_);
  return last_peer_;
}
v1::GetProgressRequest FakeBackend::last_progress() const {
  absl::MutexLock lock(&mu_);
  return last_progress_;
}
v1::GetTimeSeriesRequest FakeBackend::last_timeseries() const {
  absl::MutexLock lock(&mu_);
  return last_timeseries_;
}
v1::ListWarningsRequest FakeBackend::last_warnings() const {
  absl::MutexLock lock(&mu_);
  return last_warnings_;
}
v1::ListConflictsRequest FakeBackend::last_conflicts() const {
  absl::MutexLock lock(&mu_);
  return last_conflicts_;
}
v1::ExportProgressCsvRequest FakeBackend::last_csv() const {
  absl::MutexLock lock(&mu_);
  return last_csv_;
}

}  // namespace unionsync::testing
