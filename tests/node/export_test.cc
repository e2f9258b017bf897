// Approved exports (R10.1, R10.4, R11) over a real node: city -> d1 -> g1, g2
// all hosted on one node, called through the generated stubs. The flow, and
// every wrong path: self-approval, a leader of another organisation, the wrong
// tier (grandparent, the unit itself, a sibling), expiry, reuse, rejection, a
// missing approval; masking against the approved fields; a leaked file traced
// to its request from the file alone (CSV and XLSX); a tampered fingerprint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "ingest/table.h"
#include "node/exporter.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/shell.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "tls/tls.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/export.grpc.pb.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;

using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;
using ::unionsync::testing::kStrong;
using ::unionsync::testing::Rpc;
constexpr int64_t kDayMs = 24 * 3600 * 1000;

using A = v1::AdminService::Stub;
using E = v1::ExportService::Stub;

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_export_test");
    ASSERT_NO_FATAL_FAILURE(
        testing::StartNode(testing::CityNodeOptions(dir_, &clock_), &node_));
    auto channel = testing::NodeChannel(node_->port(), 64 << 20);
    admin_ = v1::AdminService::NewStub(channel);
    export_ = v1::ExportService::NewStub(channel);
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok()) << pw.status();
    city_ = Activate("admin", *pw);
    d1_ =
        Child(city_, kCity, "d1", v1::DISTRICT_FEDERATION, "d1admin", "430102");
    g1_ = Child(d1_, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin");
    g2_ = Child(d1_, "d1", "g2", v1::JOINT_GRASSROOTS, "g2admin");
    // Leaders are created by the upper tier, never by the unit that
    // requests; a reviewer of g1 is created by g1's administrator.
    g1lead_ = Account(d1_, "g1", "g1lead", v1::UNIT_LEADER);
    g2lead_ = Account(d1_, "g2", "g2lead", v1::UNIT_LEADER);
    g1second_ = Account(g1_, "g1", "g1reviewer", v1::REVIEWER);
    for (int i = 0; i < 3; ++i) {
      v1::Member m = gen_.Member("g1");
      m.set_org_id("g1");
      m.set_phone("13812345678");
      m.set_workplace("测试单位");
      m.set_ethnicity("汉族");
      v1::AddMemberRequest req;
      *req.mutable_member() = m;
      v1::AddMemberResponse resp;
      Rpc r = Call(admin_.get(), &A::AddMember, g1_, req, &resp);
      ASSERT_TRUE(r.status.ok()) << r.message();
      // The reply is masked; the export carries what the store holds.
      auto stored = node_->store().GetMember(resp.member().id());
      ASSERT_TRUE(stored.ok()) << stored.status();
      members_.push_back(*stored);
    }
  }

  void TearDown() override {
    if (node_ != nullptr) {
      EXPECT_OK(testing::CheckStoreInvariants(node_->store(), kCity));
    }
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  template <typename Stub, typename Req, typename Resp>
  Rpc Call(Stub* stub,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                        Resp*),
           const std::string& token, const Req& req, Resp* resp = nullptr) {
    return Rpc{testing::CallRpc(stub, method, token, req, resp,
                                std::chrono::seconds(20))};
  }

  std::string Activate(const std::string& user, const std::string& initial) {
    return testing::ActivateOverGrpc(admin_.get(), user, initial,
                                     std::chrono::seconds(20));
  }

  std::string Child(const std::string& token, const std::string& parent,
                    const std::string& id, v1::OrgKind kind,
                    const std::string& admin, const std::string& region = "") {
    v1::CreateChildOrgResponse resp;
    Rpc r =
        Call(admin_.get(), &A::CreateChildOrg, token,
             testing::ChildOrgRequest(parent, id, kind, admin, region), &resp);
    EXPECT_TRUE(r.status.ok()) << r.message();
    return Activate(admin, resp.initial_password());
  }

  std::string Account(const std::string& token, const std::string& org,
                      const std::string& user, v1::Role role) {
    v1::CreateAccountRequest req;
    req.set_org_id(org);
    req.set_username(user);
    req.set_role(role);
    v1::CreateAccountResponse resp;
    Rpc r = Call(admin_.get(), &A::CreateAccount, token, req, &resp);
    EXPECT_TRUE(r.status.ok()) << r.message();
    return Activate(user, resp.initial_password());
  }

  // g1's administrator asks for `fields`; returns the request id.
  std::string Request(std::vector<v1::ExportField> fields, int days = 0) {
    v1::RequestExportRequest req;
    req.set_org_id("g1");
    req.set_purpose("年度会员慰问名单核对");
    for (auto f : fields) req.add_fields(f);
    req.set_recipient("张三");
    req.set_valid_days(days);
    v1::RequestExportResponse resp;
    Rpc r = Call(export_.get(), &E::RequestExport, g1_, req, &resp);
    EXPECT_TRUE(r.status.ok()) << r.message();
    EXPECT_EQ(resp.export_().state(), v1::EXPORT_PENDING);
    return resp.export_().request().id();
  }

  Rpc Approve(const std::string& token, const std::string& id,
              std::vector<v1::ExportField> allowed = {}, bool reject = false,
              v1::ApproveExportResponse* resp = nullptr) {
    v1::ApproveExportRequest req;
    req.set_request_id(id);
    req.set_reject(reject);
    for (auto f : allowed) req.add_allowed_fields(f);
    return Call(export_.get(), &E::ApproveExport, token, req, resp);
  }

  Rpc Download(const std::string& token, const std::string& id,
               v1::FileFormat format, v1::DownloadExportResponse* resp) {
    v1::DownloadExportRequest req;
    req.set_request_id(id);
    req.set_format(format);
    return Call(export_.get(), &E::DownloadExport, token, req, resp);
  }

  Rpc Trace(const std::string& token, const std::string& file,
            const std::string& fingerprint,
            v1::TraceExportResponse* resp = nullptr) {
    v1::TraceExportRequest req;
    req.set_file(file);
    req.set_fingerprint(fingerprint);
    return Call(export_.get(), &E::TraceExport, token, req, resp);
  }

  // The data rows of an exported file (header skipped), cells as text.
  std::vector<std::vector<std::string>> Rows(const std::string& bytes) {
    std::vector<std::vector<std::string>> out;
    auto reader = ingest::OpenTableBytes(bytes);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    bool header = true;
    EXPECT_OK(ingest::ForEachRow(**reader, [&](const ingest::Row& row) {
      if (header) {
        header = false;
        return absl::OkStatus();
      }
      std::vector<std::string> cells;
      for (size_t i = 0; i < row.size(); ++i) {
        cells.emplace_back(row.text(i));
      }
      out.push_back(std::move(cells));
      return absl::OkStatus();
    }));
    return out;
  }

  v1::AuditEntry LastAudit() { return testing::LastAuditEntry(node_->store()); }

  // A refusal: `code`, message containing `text`, audited, nothing else
  // written.
  void ExpectRefused(const std::function<Rpc()>& call, grpc::StatusCode code,
                     const std::string& text) {
    const uint64_t pos = node_->store().next_log_pos();
    const uint64_t seq = node_->store().audit_head().seq;
    Rpc r = call();
    EXPECT_EQ(r.code(), code) << r.message();
    EXPECT_THAT(r.message(), HasSubstr(text));
    EXPECT_EQ(node_->store().next_log_pos(), pos);
    EXPECT_EQ(node_->store().audit_head().seq, seq + 1);
    v1::AuditEntry e = LastAudit();
    EXPECT_EQ(e.outcome(), code == grpc::StatusCode::PERMISSION_DENIED
                               ? v1::AUDIT_DENIED
                               : v1::AUDIT_FAILED);
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  std::unique_ptr<A> admin_;
  std::unique_ptr<E> export_;
  SynthGenerator gen_{7};
  std::string city_, d1_, g1_, g2_, g1lead_, g2lead_, g1second_;
  std::vector<v1::Member> members_;
};

const int kIdColumn = 3;     // 身份证号 in the member template.
const int kPhoneColumn = 4;  // 手机号

TEST_F(ExportTest, ApprovedCsvIsMaskedByDefaultAndTracedFromTheFileAlone) {
  const std::string id =
      Request({v1::EXPORT_ID_NUMBER, v1::EXPORT_PHONE, v1::EXPORT_WORKPLACE});
  // The leader allows what is requested but does not name ID or phone.
  v1::ApproveExportResponse approved;
  Rpc r = Approve(g1lead_, id, {}, false, &approved);
  ASSERT_TRUE(r.status.ok()) << r.message();
  EXPECT_EQ(approved.export_().state(), v1::EXPORT_PENDING);
  r = Approve(d1_, id, {v1::EXPORT_ID_NUMBER, v1::EXPORT_WORKPLACE}, false,
              &approved);
  ASSERT_TRUE(r.status.ok()) << r.message();
  EXPECT_EQ(approved.export_().state(), v1::EXPORT_APPROVED);
  EXPECT_THAT(approved.export_().effective_fields(),
              ::testing::ElementsAre(v1::EXPORT_WORKPLACE));

  v1::DownloadExportResponse file;
  r = Download(g1_, id, v1::FILE_FORMAT_CSV, &file);
  ASSERT_TRUE(r.status.ok()) << r.message();
  EXPECT_EQ(file.member_count(), 3);
  EXPECT_EQ(file.export_().state(), v1::EXPORT_DOWNLOADED);
  EXPECT_THAT(file.fingerprint(),
              HasSubstr(absl::StrCat("EXP-", id, "-张三-")));
  EXPECT_THAT(file.content(), HasSubstr(file.fingerprint()));
  const auto rows = Rows(file.content());
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    ASSERT_GT(row.size(), static_cast<size_t>(kPhoneColumn));
    EXPECT_THAT(row[kIdColumn], HasSubstr("********"));
    EXPECT_EQ(row[kPhoneColumn], "138****5678");
  }
  for (const auto& m : members_) {
    EXPECT_THAT(file.content(), ::testing::Not(HasSubstr(m.id_number())));
  }
  EXPECT_THAT(file.content(), HasSubstr("测试单位"));
  EXPECT_THAT(file.content(), ::testing::Not(HasSubstr("汉族")));
  v1::AuditEntry e = LastAudit();
  EXPECT_EQ(e.action(), "DownloadExport");
  EXPECT_EQ(e.outcome(), v1::AUDIT_OK);
  EXPECT_EQ(e.target_org(), "g1");

  // Leaked: the file alone leads to the request, its approvers and recipient.
  v1::TraceExportResponse traced;
  r = Trace(city_, file.content(), "", &traced);
  ASSERT_TRUE(r.status.ok()) << r.message();
  EXPECT_EQ(traced.fingerprint(), file.fingerprint());
  const v1::ExportStatus& x = traced.export_();
  EXPECT_EQ(x.request().id(), id);
  EXPECT_EQ(x.request().requester(), "g1admin");
  EXPECT_EQ(x.request().recipient(), "张三");
  EXPECT_EQ(x.request().downloaded_by(), "g1admin");
  EXPECT_EQ(x.request().downloaded_at_ms(), kNow);
  ASSERT_EQ(x.approvals_size(), 2);
  EXPECT_EQ(x.approvals(0).approver(), "g1lead");
  EXPECT_EQ(x.approvals(1).approver(), "d1admin");
  EXPECT_EQ(LastAudit().action(), "TraceExport");
}

TEST_F(ExportTest, BothApprovalsNamingIdNumberExportItUnmaskedInXlsx) {
  const std::string id = Request({v1::EXPORT_ID_NUMBER, v1::EXPORT_GENDER});
  ASSERT_TRUE(Approve(g1lead_, id, {v1::EXPORT_ID_NUMBER, v1::EXPORT_GENDER})
                  .status.ok());
  ASSERT_TRUE(Approve(d1_, id, {v1::EXPORT_ID_NUMBER}).status.ok());
  v1::DownloadExportResponse file;
  Rpc r = Download(g1_, id, v1::FILE_FORMAT_XLSX, &file);
  ASSERT_TRUE(r.status.ok()) << r.message();
  EXPECT_EQ(file.filename(), absl::StrCat("export-", id, ".xlsx"));
  const auto rows = Rows(file.content());
  ASSERT_EQ(rows.size(), 3u);
  std::set<std::string> ids;
  for (const auto& row : rows) {
    ids.insert(row[kIdColumn]);
    EXPECT_EQ(row[kPhoneColumn], "138****5678");  // Not requested: masked.
  }
  for (const auto& m : members_) EXPECT_TRUE(ids.count(m.id_number()));

  v1::TraceExportResponse traced;
  r = Trace(d1_, file.content(), "", &traced);
  ASSERT_TRUE(r.status.ok()) << r.message();
  EXPECT_EQ(traced.export_().request().id(), id);
  EXPECT_EQ(traced.fingerprint(), file.fingerprint());
}

TEST_F(ExportTest, ApprovalWrongPathsAreRefusedAndAudited) {
  const std::string id = Request({v1::EXPORT_WORKPLACE});
  using C = grpc::StatusCode;
  // Self-approval, as either level.
  ExpectRefused([&] { return Approve(g1_, id); }, C::PERMISSION_DENIED,
                "self-approval");
  // A leader of another organisation.
  ExpectRefused([&] { return Approve(g2lead_, id); }, C::PERMISSION_DENIED,
                "only the responsible leader of 'g1'");
  // Wrong tier: the grandparent, the unit itself, a sibling.
  ExpectRefused([&] { return Approve(city_, id); }, C::PERMISSION_DENIED,
                "wrong tier");
  // An account the requester created is never an approver.
  ExpectRefused([&] { return Approve(g1second_, id); }, C::PERMISSION_DENIED,
                "created by the requester");
  ExpectRefused([&] { return Approve(g2_, id); }, C::PERMISSION_DENIED,
                "wrong tier");
  // A field that was not requested.
  ExpectRefused([&] { return Approve(g1lead_, id, {v1::EXPORT_ID_NUMBER}); },
                C::INVALID_ARGUMENT, "was not requested");
  // Missing approvals: nothing yet, then only the leader's.
  v1::DownloadExportResponse file;
  ExpectRefused([&] { return Download(g1_, id, v1::FILE_FORMAT_CSV, &file); },
                C::FAILED_PRECONDITION,
                "waiting for the unit's responsible leader and");
  ASSERT_TRUE(Approve(g1lead_, id).status.ok());
  ExpectRefused([&] { return Approve(g1lead_, id); }, C::FAILED_PRECONDITION,
                "already approved by 'g1lead'");
  ExpectRefused([&] { return Download(g1_, id, v1::FILE_FORMAT_CSV, &file); },
                C::FAILED_PRECONDITION, "waiting for the upper-tier union");
  ASSERT_TRUE(Approve(d1_, id).status.ok());
  ExpectRefused([&] { return Approve(d1_, id); }, C::FAILED_PRECONDITION,
                "already approved");
  // Only the requester downloads.
  ExpectRefused([&] { return Download(d1_, id, v1::FILE_FORMAT_CSV, &file); },
                C::PERMISSION_DENIED, "only the requester");
  ExpectRefused(
      [&] { return Download(g1second_, id, v1::FILE_FORMAT_CSV, &file); },
      C::PERMISSION_DENIED, "may not call DownloadExport");
  Rpc r = Download(g1_, id, v1::FILE_FORMAT_CSV, &file);
  ASSERT_TRUE(r.status.ok()) << r.message();
  // Reused: once only.
  ExpectRefused([&] { return Download(g1_, id, v1::FILE_FORMAT_CSV, &file); },
                C::FAILED_PRECONDITION, "already downloaded");
}

TEST_F(ExportTest, ExpiredRequestsCanBeNeitherApprovedNorDownloaded) {
  const std::string id = Request({v1::EXPORT_WORKPLACE}, /*days=*/1);
  const std::string late = Request({v1::EXPORT_WORKPLACE}, /*days=*/1);
  ASSERT_TRUE(Approve(g1lead_, id).status.ok());
  ASSERT_TRUE(Approve(d1_, id).status.ok());
  ASSERT_TRUE(Approve(g1lead_, late).status.ok());
  clock_.AdvanceMs(kDayMs);
  // Sessions do not last a day: log in again.
  for (auto [user, token] : {std::pair{"g1admin", &g1_}, {"d1admin", &d1_}}) {
    v1::LoginRequest login;
    login.set_username(user);
    login.set_password(kStrong);
    v1::LoginResponse resp;
    ASSERT_TRUE(Call(admin_.get(), &A::Login, "", login, &resp).status.ok());
    *token = resp.token();
  }
  using C = grpc::StatusCode;
  ExpectRefused([&] { return Approve(d1_, late); }, C::FAILED_PRECONDITION,
                "expired");
  v1::DownloadExportResponse file;
  ExpectRefused([&] { return Download(g1_, id, v1::FILE_FORMAT_CSV, &file); },
                C::FAILED_PRECONDITION, "expired");
  v1::ListExportRequestsResponse list;
  ASSERT_TRUE(Call(export_.get(), &E::ListExportRequests, d1_,
                   v1::ListExportRequestsRequest(), &list)
                  .status.ok());
  ASSERT_EQ(list.exports_size(), 2);
  for (const auto& x : list.exports()) {
    EXPECT_EQ(x.state(), v1::EXPORT_EXPIRED);
  }
}

TEST_F(ExportTest, ARejectionStopsTheExport) {
  const std::string id = Request({v1::EXPORT_WORKPLACE});
  ASSERT_TRUE(Approve(g1lead_, id).status.ok());
  v1::ApproveExportResponse resp;
  ASSERT_TRUE(Approve(d1_, id, {}, /*reject=*/true, &resp).status.ok());
  EXPECT_EQ(resp.export_().state(), v1::EXPORT_REJECTED);
  v1::DownloadExportResponse file;
  ExpectRefused([&] { return Download(g1_, id, v1::FILE_FORMAT_CSV, &file); },
                grpc::StatusCode::FAILED_PRECONDITION, "rejected by 'd1admin'");
}

TEST_F(ExportTest, RequestsOnlyByTheUnitsOwnAdministrator) {
  v1::RequestExportRequest req;
  req.set_org_id("g1");
  req.set_purpose("核对");
  req.add_fields(v1::EXPORT_WORKPLACE);
  req.set_recipient("李四");
  using C = grpc::StatusCode;
  for (const std::string* token : {&d1_, &city_, &g2_}) {
    ExpectRefused(
        [&] { return Call(export_.get(), &E::RequestExport, *token, req); },
        C::PERMISSION_DENIED, "only the data administrator of 'g1'");
  }
  // A leader is stopped by the role table itself.
  ExpectRefused(
      [&] { return Call(export_.get(), &E::RequestExport, g1lead_, req); },
      C::PERMISSION_DENIED, "may not call RequestExport");
  req.set_recipient("李-四");
  ExpectRefused(
      [&] { return Call(export_.get(), &E::RequestExport, g1_, req); },
      C::INVALID_ARGUMENT, "recipient");
  req.set_recipient("李四");
  req.clear_fields();
  ExpectRefused(
      [&] { return Call(export_.get(), &E::RequestExport, g1_, req); },
      C::INVALID_ARGUMENT, "fields");
  req.add_fields(v1::EXPORT_PHONE);
  req.set_valid_days(31);
  ExpectRefused(
      [&] { return Call(export_.get(), &E::RequestExport, g1_, req); },
      C::INVALID_ARGUMENT, "valid_days");
}

TEST_F(ExportTest, TamperedOrForgedFingerprintsAreRefused) {
  const std::string id = Request({v1::EXPORT_WORKPLACE});
  ASSERT_TRUE(Approve(g1lead_, id).status.ok());
  ASSERT_TRUE(Approve(d1_, id).status.ok());
  v1::DownloadExportResponse file;
  ASSERT_TRUE(Download(g1_, id, v1::FILE_FORMAT_CSV, &file).status.ok());
  const std::string fp = file.fingerprint();
  using C = grpc::StatusCode;

  // One character of the check changed, in the file or given directly.
  std::string bad = fp;
  bad.back() = bad.back() == '0' ? '1' : '0';
  std::string tampered = file.content();
  tampered.replace(tampered.find(fp), fp.size(), bad);
  ExpectRefused([&] { return Trace(d1_, tampered, ""); }, C::INVALID_ARGUMENT,
                "does not verify");
  ExpectRefused([&] { return Trace(d1_, "", bad); }, C::INVALID_ARGUMENT,
                "does not verify");
  // Another recipient named in the fingerprint.
  std::string renamed = fp;
  renamed.replace(renamed.find("张三"), std::string("张三").size(), "王五");
  ExpectRefused([&] { return Trace(d1_, "", renamed); }, C::INVALID_ARGUMENT,
                "does not verify");
  // A request that was never downloaded.
  const std::string other = Request({v1::EXPORT_WORKPLACE});
  std::string forged = fp;
  forged.replace(4, 16, other);
  ExpectRefused([&] { return Trace(d1_, "", forged); }, C::FAILED_PRECONDITION,
                "never downloaded");
  // Unknown request, malformed, no fingerprint in the file.
  forged.replace(4, 16, "0123456789abcdef");
  ExpectRefused([&] { return Trace(d1_, "", forged); }, C::NOT_FOUND,
                "no export request");
  ExpectRefused([&] { return Trace(d1_, "", "EXP-nonsense"); },
                C::INVALID_ARGUMENT, "not an export fingerprint");
  const std::string plain =
      file.content().substr(file.content().find('\n') + 1);
  ExpectRefused([&] { return Trace(d1_, plain, ""); }, C::INVALID_ARGUMENT,
                "no export fingerprint");
  // Outside the caller's subtree; not a data administrator.
  ExpectRefused([&] { return Trace(g2_, "", fp); }, C::PERMISSION_DENIED,
                "outside your organisation's subtree");
  ExpectRefused([&] { return Trace(g1lead_, "", fp); }, C::PERMISSION_DENIED,
                "may not call TraceExport");
  // The untouched one still verifies.
  EXPECT_TRUE(Trace(g1_, "", fp).status.ok());
}

// The approval crossing a real link: the city on the hub node, d1 on its own
// node (mutual TLS). d1's request goes up, the city approves at the hub, the
// approval comes down, d1's leader approves at d1, d1's administrator
// downloads at d1, and the downloaded request goes back up.
class ExportReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/export_link_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    const std::string d = testing::ShellQuote(dir_ + "/certs");
    const std::string s = testing::ShellQuote(UNIONSYNC_CERTS_DIR);
    const std::string script =
        absl::StrCat(s, "/make-ca.sh ", d, " && ", s, "/make-node-cert.sh ", d,
                     " ", kCity, " && ", s, "/make-node-cert.sh ", d, " d1");
    const std::string cmd =
        "bash -euo pipefail -c " + testing::ShellQuote(script) + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override {
    if (hub_ != nullptr) {
      EXPECT_OK(testing::CheckStoreInvariants(hub_->store(), kCity,
                                              /*replicated=*/true));
    }
    d1_.reset();
    hub_.reset();
    std::filesystem::remove_all(dir_);
  }
  TlsFiles Tls(const std::string& org) const {
    TlsFiles t;
    t.ca_pem_path = dir_ + "/certs/ca.pem";
    t.cert_pem_path = absl::StrCat(dir_, "/certs/", org, ".pem");
    t.key_pem_path = absl::StrCat(dir_, "/certs/", org, ".key");
    return t;
  }
  static bool WaitFor(const std::function<bool()>& done) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  struct Client {
    explicit Client(int port) {
      auto channel = testing::NodeChannel(port);
      admin = v1::AdminService::NewStub(channel);
      exports = v1::ExportService::NewStub(channel);
    }
    template <typename Stub, typename Req, typename Resp>
    grpc::Status Call(Stub* stub,
                      grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                   const Req&, Resp*),
                      const std::string& token, const Req& req,
                      Resp* resp = nullptr) {
      return testing::CallRpc(stub, method, token, req, resp,
                              std::chrono::seconds(20));
    }
    std::string Activate(const std::string& user, const std::string& initial) {
      return testing::ActivateOverGrpc(admin.get(), user, initial,
                                       std::chrono::seconds(20));
    }
    std::unique_ptr<A> admin;
    std::unique_ptr<E> exports;
  };

  std::string dir_;
  std::unique_ptr<NodeServer> hub_, d1_;
};

TEST_F(ExportReplicationTest, ParentApprovesAtItsNodeAndTheChildDownloads) {
  NodeOptions h = testing::TestNodeOptions(kCity, dir_ + "/hub");
  h.repl_listen = "127.0.0.1:0";
  h.tls = Tls(kCity);
  ASSERT_NO_FATAL_FAILURE(testing::StartNode(h, &hub_));
  Client at_hub(hub_->port());
  auto pw = testing::BootstrapCity(*hub_);
  ASSERT_TRUE(pw.ok()) << pw.status();
  const std::string city_token = at_hub.Activate("admin", *pw);

  NodeOptions c = testing::TestNodeOptions("d1", dir_ + "/d1");
  c.tls = Tls("d1");
  c.parent_address = absl::StrCat("127.0.0.1:", hub_->repl_port());
  c.parent_id = kCity;
  ASSERT_NO_FATAL_FAILURE(testing::StartNode(c, &d1_));
  Client at_d1(d1_->port());

  // d1, a grassroots union directly under the city that runs its own node,
  // registered at the hub with its administrator and its leader (both made
  // by the city, the upper tier).
  v1::CreateChildOrgRequest reg;
  reg.set_parent_id(kCity);
  reg.mutable_org()->set_id("d1");
  reg.mutable_org()->set_name("测试工会d1");
  reg.mutable_org()->set_kind(v1::CITY_DIRECT_GRASSROOTS);
  reg.mutable_org()->set_host_node("d1");
  reg.set_admin_username("d1admin");
  reg.set_leader_username("d1lead");
  v1::CreateChildOrgResponse created;
  grpc::Status s = at_hub.Call(at_hub.admin.get(), &A::CreateChildOrg,
                               city_token, reg, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(WaitFor([&] { return d1_->store().GetAccount("d1lead").ok(); }));
  const std::string d1_token =
      at_d1.Activate("d1admin", created.initial_password());
  const std::string lead_token =
      at_d1.Activate("d1lead", created.leader_initial_password());
  SynthGenerator gen(11);
  std::set<std::string> id_numbers;
  for (int i = 0; i < 2; ++i) {
    v1::AddMemberRequest add;
    *add.mutable_member() = gen.Member("");
    id_numbers.insert(add.member().id_number());
    s = at_d1.Call(at_d1.admin.get(), &A::AddMember, d1_token, add);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // The request, at d1, goes up.
  v1::RequestExportRequest req;
  req.set_org_id("d1");
  req.set_purpose("会员核对");
  req.add_fields(v1::EXPORT_ID_NUMBER);
  req.add_fields(v1::EXPORT_WORKPLACE);
  req.set_recipient("赵六");
  v1::RequestExportResponse requested;
  s = at_d1.Call(at_d1.exports.get(), &E::RequestExport, d1_token, req,
                 &requested);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string id = requested.export_().request().id();
  ASSERT_TRUE(WaitFor([&] { return hub_->store().GetExportRequest(id).ok(); }))
      << "the request never reached the hub";

  // The upper tier approves at the hub; the leader at d1.
  v1::ApproveExportRequest approve;
  approve.set_request_id(id);
  approve.add_allowed_fields(v1::EXPORT_ID_NUMBER);
  approve.add_allowed_fields(v1::EXPORT_WORKPLACE);
  s = at_hub.Call(at_hub.exports.get(), &E::ApproveExport, city_token, approve);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The leader's approval is given at d1's node, not at the hub (the leader
  // has no session there; d1's administrator would be refused too).
  s = at_d1.Call(at_d1.exports.get(), &E::ApproveExport, lead_token, approve);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(WaitFor([&] {
    auto a = d1_->store().ExportApprovals(id);
    auto b = hub_->store().ExportApprovals(id);
    return a.ok() && a->size() == 2 && b.ok() && b->size() == 2;
  })) << "the approvals did not cross the link";

  // Downloaded at d1 only.
  v1::DownloadExportRequest dl;
  dl.set_request_id(id);
  dl.set_format(v1::FILE_FORMAT_CSV);
  v1::DownloadExportResponse file;
  s = at_d1.Call(at_d1.exports.get(), &E::DownloadExport, d1_token, dl, &file);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(file.member_count(), 2);
  for (const auto& n : id_numbers) EXPECT_THAT(file.content(), HasSubstr(n));
  // The downloaded request goes up again: the hub knows who took what.
  ASSERT_TRUE(WaitFor([&] {
    auto r = hub_->store().GetExportRequest(id);
    return r.ok() && r->downloaded_at_ms() != 0;
  }));
  EXPECT_EQ(hub_->store().GetExportRequest(id)->fingerprint(),
            file.fingerprint());
  // Traced at d1, the node whose key made its keyed check.
  v1::TraceExportRequest trace;
  trace.set_file(file.content());
  v1::TraceExportResponse traced;
  s = at_d1.Call(at_d1.exports.get(), &E::TraceExport, d1_token, trace,
                 &traced);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(traced.export_().request().recipient(), "赵六");
  EXPECT_EQ(traced.export_().approvals_size(), 2);
  // And at the hub, from the replicated request, for a file leaked anywhere.
  v1::TraceExportResponse at_city;
  s = at_hub.Call(at_hub.exports.get(), &E::TraceExport, city_token, trace,
                  &at_city);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(at_city.export_().request().recipient(), "赵六");
  EXPECT_EQ(at_city.fingerprint(), file.fingerprint());
  // A fingerprint with one character changed does not trace there either.
  std::string forged = file.fingerprint();
  forged.back() = forged.back() == '0' ? '1' : '0';
  v1::TraceExportRequest bad;
  bad.set_fingerprint(forged);
  s = at_hub.Call(at_hub.exports.get(), &E::TraceExport, city_token, bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
}

TEST(ExportFingerprintTest, ParsesTheRequestId) {
  v1::ExportRequest r;
  r.set_id("0123456789abcdef");
  r.set_recipient("张三");
  r.set_requester("g1admin");
  const std::string fp = Exporter::Fingerprint("key", r, 5);
  auto id = Exporter::RequestIdOf(fp);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, r.id());
  EXPECT_NE(fp, Exporter::Fingerprint("key", r, 6));
  EXPECT_NE(fp, Exporter::Fingerprint("other", r, 5));
  EXPECT_FALSE(Exporter::RequestIdOf("EXP-0123456789abcdef--x").ok());
}

}  // namespace
}  // namespace unionsync
