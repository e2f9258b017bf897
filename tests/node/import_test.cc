// Service tests of the Ingest API: a real node (RocksDB in a temp dir) serving
// gRPC on 127.0.0.1:0. Templates, and the import round trip: a template
// filled by the test (ingest's exporter) -> Import over the bidi stream ->
// members read back through the Admin API -> exported again, equal. Dry runs,
// all-or-nothing, valid rows only, idempotent re-import, updates, hostile and
// broken files, and the scope rules (refusals audited, nothing written).
#include "ingest/import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/mask.h"
#include "common/password.h"
#include "grpcpp/grpcpp.h"
#include "ingest/table.h"
#include "ingest/template.h"
#include "ingest/test_files.h"
#include "ingest/writer.h"
#include "node/node_server.h"
#include "testing/status_matchers.h"
#include "testing/store_checks.h"
#include "testing/test_vault.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/ingest.grpc.pb.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::ingest::testing::CsvLine;
using ::unionsync::ingest::testing::Iconv;
using ::unionsync::ingest::testing::MemberHeaderCsv;
using ::unionsync::ingest::testing::Members;
using ::unionsync::ingest::testing::MinimalXlsx;
using ::unionsync::ingest::testing::SheetXml;
using ::unionsync::ingest::testing::StrRow;
using ::unionsync::ingest::testing::WriteXlsx;
using ::unionsync::ingest::testing::XCell;

constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";
constexpr int64_t kNow = 1795744800000;  // 2026-11-27 10:00 China time.

struct ImportResult {
  grpc::Status status;
  v1::ImportSummary summary;
  std::vector<v1::ImportProgress> progress;
};

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/unionsync_import_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    NodeOptions o;
    o.node_id = kCity;
    o.vault = testing::TestVault(kCity);
    o.data_dir = dir_ + "/db";
    o.listen = "127.0.0.1:0";
    o.insecure_plaintext = true;
    o.admin.scrypt = ScryptParams::ForTests();
    o.clock = &clock_;
    auto node = NodeServer::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", node_->port()),
                            grpc::InsecureChannelCredentials());
    admin_ = v1::AdminService::NewStub(channel);
    ingest_ = v1::IngestService::NewStub(channel);
    v1::Org city;
    city.set_id(kCity);
    city.set_name("长沙市总工会");
    city.set_kind(v1::CITY_FEDERATION);
    city.set_tier(1);
    auto pw = node_->admin().Bootstrap(city, "admin");
    ASSERT_TRUE(pw.ok()) << pw.status();
    city_ = Activate("admin", *pw);
    // city -> d1 (district 430102) -> g1, g2 (grassroots); a viewer of g1.
    d1_ = CreateChild(city_, kCity, "d1", v1::DISTRICT_FEDERATION, "d1admin",
                      "430102");
    g1_ = CreateChild(d1_, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin");
    g2_ = CreateChild(d1_, "d1", "g2", v1::JOINT_GRASSROOTS, "g2admin");
    v1::CreateAccountRequest viewer;
    viewer.set_org_id("g1");
    viewer.set_username("g1viewer");
    viewer.set_role(v1::REVIEWER);
    v1::CreateAccountResponse created;
    ASSERT_TRUE(
        Call(&v1::AdminService::Stub::CreateAccount, g1_, viewer, &created)
            .ok());
    g1_viewer_ = Activate("g1viewer", created.initial_password());
  }

  void TearDown() override {
    if (node_ != nullptr) {
      EXPECT_OK(testing::CheckStoreInvariants(node_->store(), kCity));
    }
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (v1::AdminService::Stub::*method)(
                        grpc::ClientContext*, const Req&, Resp*),
                    const std::string& token, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    return (admin_.get()->*method)(&ctx, req, resp);
  }

  std::string Activate(const std::string& user, const std::string& initial) {
    v1::LoginRequest login;
    login.set_username(user);
    login.set_password(initial);
    v1::LoginResponse session;
    EXPECT_TRUE(Call(&v1::AdminService::Stub::Login, "", login, &session).ok());
    v1::ChangePasswordRequest req;
    req.set_old_password(initial);
    req.set_new_password(kStrong);
    v1::ChangePasswordResponse done;
    EXPECT_TRUE(Call(&v1::AdminService::Stub::ChangePassword, session.token(),
                     req, &done)
                    .ok());
    return session.token();
  }

  std::string CreateChild(const std::string& token, const std::string& parent,
                          const std::string& id, v1::OrgKind kind,
                          const std::string& admin,
                          const std::string& region = "") {
    v1::CreateChildOrgRequest req;
    req.set_parent_id(parent);
    req.mutable_org()->set_id(id);
    req.mutable_org()->set_name(absl::StrCat("测试工会", id));
    req.mutable_org()->set_kind(kind);
    req.mutable_org()->set_region(region);
    req.set_admin_username(admin);
    v1::CreateChildOrgResponse resp;
    grpc::Status s =
        Call(&v1::AdminService::Stub::CreateChildOrg, token, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return Activate(admin, resp.initial_password());
  }

  // One Import call over the bidi stream, the file in 64 KiB chunks.
  ImportResult Import(const std::string& token, v1::ImportOptions options,
                      const std::string& bytes) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(120));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    auto stream = ingest_->Import(&ctx);
    v1::ImportRequest req;
    options.set_size_bytes(static_cast<int64_t>(bytes.size()));
    *req.mutable_options() = options;
    bool ok = stream->Write(req);
    for (size_t at = 0; ok && at < bytes.size(); at += 64 * 1024) {
      req.set_chunk(bytes.substr(at, 64 * 1024));
      ok = stream->Write(req);
    }
    if (ok) stream->WritesDone();
    ImportResult result;
    v1::ImportProgress p;
    while (stream->Read(&p)) {
      result.progress.push_back(p);
      if (p.has_summary()) result.summary = p.summary();
    }
    result.status = stream->Finish();
    return result;
  }

  static v1::ImportOptions MemberOptions(const std::string& org = "g1") {
    v1::ImportOptions o;
    o.set_kind(v1::TEMPLATE_MEMBER);
    o.set_org_id(org);
    o.set_filename("会员.xlsx");
    return o;
  }

  // Every member of `org` through ListMembers (audited like any read; ID and
  // phone numbers masked), with the full record as the store holds it.
  std::vector<v1::Member> ListAll(const std::string& token,
                                  const std::string& org) {
    std::vector<v1::Member> out;
    v1::ListMembersRequest req;
    req.set_org_id(org);
    req.set_page_size(1000);
    for (;;) {
      v1::ListMembersResponse resp;
      grpc::Status s =
          Call(&v1::AdminService::Stub::ListMembers, token, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const v1::Member& listed : resp.members()) {
        auto full = node_->store().GetMember(listed.id());
        EXPECT_TRUE(full.ok()) << full.status();
        if (!full.ok()) continue;
        EXPECT_EQ(listed.id_number(), MaskIdNumber(full->id_number()));
        out.push_back(*full);
      }
      if (!s.ok() || resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    return out;
  }

  static std::string Export(const std::vector<v1::Member>& members,
                            ingest::FileFormat format,
                            ingest::TextEncoding encoding) {
    ingest::ExportOptions eo;
    eo.file.format = format;
    eo.file.encoding = encoding;
    auto bytes = ingest::ExportMembersToBytes(members, eo);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *bytes : "";
  }

  // The template cells of members, sorted by ID number.
  static std::vector<std::vector<std::string>> Cells(
      std::vector<v1::Member> members) {
    std::vector<std::vector<std::string>> out;
    for (const v1::Member& m : members) {
      out.push_back(ingest::MemberToCells(m));
    }
    const int id =
        ingest::ColumnIndex(ingest::MemberTemplate(), ingest::Field::kIdNumber);
    std::sort(out.begin(), out.end(),
              [id](const auto& a, const auto& b) { return a[id] < b[id]; });
    return out;
  }

  // Audit entries written since `from` with `action`.
  std::vector<v1::AuditEntry> AuditSince(uint64_t from,
                                         absl::string_view action) {
    auto entries = node_->store().ReadAudit(from, 100000);
    EXPECT_TRUE(entries.ok());
    std::vector<v1::AuditEntry> out;
    for (const auto& e : *entries) {
      if (e.action() == action) out.push_back(e);
    }
    return out;
  }

  uint64_t AuditEnd() { return node_->store().audit_head().seq + 1; }

  FakeClock clock_{kNow};
  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::string city_, d1_, g1_, g2_, g1_viewer_;
};

// ---------------------------------------------------------------------------
// Templates

TEST_F(ImportTest, TemplatesInEveryFormat) {
  struct Case {
    v1::TemplateKind kind;
    v1::FileFormat format;
    v1::TextEncoding encoding;
    std::string filename;
  };
  for (const Case& c : std::vector<Case>{
           {v1::TEMPLATE_MEMBER, v1::FILE_FORMAT_XLSX, v1::TEXT_ENCODING_AUTO,
            "会员信息采集模板.xlsx"},
           {v1::TEMPLATE_MEMBER, v1::FILE_FORMAT_CSV, v1::TEXT_ENCODING_UTF8,
            "会员信息采集模板.csv"},
           {v1::TEMPLATE_MEMBER, v1::FILE_FORMAT_CSV, v1::TEXT_ENCODING_GBK,
            "会员信息采集模板-GBK.csv"},
           {v1::TEMPLATE_ORG, v1::FILE_FORMAT_XLSX, v1::TEXT_ENCODING_AUTO, ""},
           {v1::TEMPLATE_ORG, v1::FILE_FORMAT_CSV, v1::TEXT_ENCODING_GB18030,
            ""},
       }) {
    v1::GetTemplateRequest req;
    req.set_kind(c.kind);
    req.set_format(c.format);
    req.set_encoding(c.encoding);
    v1::GetTemplateResponse resp;
    grpc::ClientContext ctx;  // No session needed.
    ASSERT_TRUE(ingest_->GetTemplate(&ctx, req, &resp).ok());
    if (!c.filename.empty()) EXPECT_EQ(resp.filename(), c.filename);
    // The template reads back with exactly the template's headers.
    const ingest::TemplateSpec& spec = ingest::Template(
        c.kind == v1::TEMPLATE_MEMBER ? ingest::TemplateKind::kMember
                                      : ingest::TemplateKind::kOrg);
    ingest::ReaderOptions ro;
    ro.sheet_name = std::string(spec.sheet_name);
    auto reader = ingest::OpenTableBytes(resp.content(), ro);
    ASSERT_TRUE(reader.ok()) << reader.status();
    auto header = (*reader)->Next();
    ASSERT_TRUE(header.ok() && *header != nullptr);
    ASSERT_EQ((*header)->size(), spec.columns.size());
    for (size_t i = 0; i < spec.columns.size(); ++i) {
      EXPECT_EQ((*header)->text(i), spec.columns[i].header);
    }
    if (c.format == v1::FILE_FORMAT_XLSX) {
      EXPECT_EQ(resp.content().substr(0, 2), "PK");
    }
  }
  v1::GetTemplateRequest bad;
  v1::GetTemplateResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(ingest_->GetTemplate(&ctx, bad, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------
// Round trips

TEST_F(ImportTest, RoundTripInEveryFormatAndReimportChangesNothing) {
  struct Case {
    ingest::FileFormat format;
    ingest::TextEncoding encoding;
    v1::TextEncoding named;
  };
  uint64_t first = 0;
  for (const Case& c : std::vector<Case>{
           {ingest::FileFormat::kXlsx, ingest::TextEncoding::kUtf8,
            v1::TEXT_ENCODING_AUTO},
           {ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8,
            v1::TEXT_ENCODING_AUTO},
           {ingest::FileFormat::kCsv, ingest::TextEncoding::kGbk,
            v1::TEXT_ENCODING_AUTO},
           {ingest::FileFormat::kCsv, ingest::TextEncoding::kGb18030,
            v1::TEXT_ENCODING_GB18030},
       }) {
    SCOPED_TRACE(absl::StrCat("format ", static_cast<int>(c.format),
                              " encoding ", static_cast<int>(c.encoding)));
    // g1 and g2 alternate so each round starts from an empty union.
    const std::string org = first % 2 == 0 ? "g1" : "g2";
    const std::string& token = org == "g1" ? g1_ : g2_;
    // Each round imports other people (other ID numbers).
    std::vector<v1::Member> members = Members(150, first * 1000);
    for (v1::Member& m : members) m.set_org_id(org);
    const std::string file = Export(members, c.format, c.encoding);
    const size_t before = ListAll(token, org).size();

    v1::ImportOptions options = MemberOptions(org);
    options.set_encoding(c.named);
    ImportResult r = Import(token, options, file);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_TRUE(r.summary.ok()) << r.summary.message();
    EXPECT_TRUE(r.summary.written());
    EXPECT_EQ(r.summary.counts().rows_read(), 150);
    EXPECT_EQ(r.summary.counts().created(), 150);
    EXPECT_EQ(r.summary.counts().committed_rows(), 150);
    EXPECT_THAT(r.summary.message(), HasSubstr("导入完成"));
    EXPECT_TRUE(r.summary.error_report_csv().empty());
    // Progress came in phases, the summary last.
    ASSERT_GE(r.progress.size(), 3u);
    EXPECT_EQ(r.progress.front().phase(), v1::IMPORT_UPLOADING);
    EXPECT_EQ(r.progress.back().phase(), v1::IMPORT_DONE);
    bool validated = false, committed = false;
    for (const auto& p : r.progress) {
      validated |= p.phase() == v1::IMPORT_VALIDATING;
      committed |= p.phase() == v1::IMPORT_COMMITTING;
    }
    EXPECT_TRUE(validated && committed);

    // Readable through the Admin API, and exported again: the same cells.
    std::vector<v1::Member> stored = ListAll(token, org);
    ASSERT_EQ(stored.size(), before + 150);
    std::vector<v1::Member> mine;
    for (const v1::Member& m : stored) {
      for (const v1::Member& x : members) {
        if (x.id_number() == m.id_number()) mine.push_back(m);
      }
    }
    ASSERT_EQ(mine.size(), 150u);
    EXPECT_EQ(Cells(mine), Cells(members));
    for (const v1::Member& m : mine) {
      EXPECT_EQ(m.org_id(), org);
      EXPECT_EQ(m.status(), v1::MEMBER_ACTIVE);
      EXPECT_EQ(m.id().size(), 24u);
    }
    v1::GetMemberRequest get;
    get.set_id_number(members[7].id_number());
    v1::GetMemberResponse got;
    ASSERT_TRUE(
        Call(&v1::AdminService::Stub::GetMember, token, get, &got).ok());
    EXPECT_EQ(got.member().name(), members[7].name());

    // Exporting what the store holds and importing it again changes nothing:
    // not one log position moves.
    const std::string again =
        Export(mine, ingest::FileFormat::kXlsx, ingest::TextEncoding::kUtf8);
    const uint64_t log = node_->store().next_log_pos();
    ImportResult r2 = Import(token, MemberOptions(org), again);
    ASSERT_TRUE(r2.status.ok()) << r2.status.error_message();
    EXPECT_TRUE(r2.summary.ok());
    EXPECT_FALSE(r2.summary.written());
    EXPECT_EQ(r2.summary.counts().unchanged(), 150);
    EXPECT_EQ(r2.summary.counts().created(), 0);
    EXPECT_EQ(node_->store().next_log_pos(), log);
    ++first;
  }
}

TEST_F(ImportTest, OneAuditEntryPerImportWithCounts) {
  const uint64_t from = AuditEnd();
  std::vector<v1::Member> members = Members(20);
  ImportResult r = Import(
      g1_, MemberOptions(),
      Export(members, ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8));
  ASSERT_TRUE(r.status.ok());
  std::vector<v1::AuditEntry> audit = AuditSince(from, "ImportMembers");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].actor(), "g1admin");
  EXPECT_EQ(audit[0].target(), "org/g1");
  EXPECT_EQ(audit[0].outcome(), v1::AUDIT_OK);
  EXPECT_THAT(audit[0].detail(), HasSubstr("created 20"));
  EXPECT_THAT(audit[0].detail(), HasSubstr("会员.xlsx"));
  // No audit entry per row: only the import and the reads above.
  EXPECT_TRUE(AuditSince(from, "AddMember").empty());
}

TEST_F(ImportTest, ChangedFieldsUpdateTheMember) {
  std::vector<v1::Member> members = Members(10);
  const std::string csv =
      Export(members, ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8);
  ASSERT_TRUE(Import(g1_, MemberOptions(), csv).summary.ok());
  std::vector<v1::Member> before = ListAll(g1_, "g1");
  members[3].set_phone("13912345678");
  members[5].set_workplace("长沙市新单位");
  ImportResult r = Import(
      g1_, MemberOptions(),
      Export(members, ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.summary.counts().updated(), 2);
  EXPECT_EQ(r.summary.counts().unchanged(), 8);
  EXPECT_EQ(r.summary.counts().created(), 0);
  std::vector<v1::Member> after = ListAll(g1_, "g1");
  ASSERT_EQ(after.size(), before.size());  // Same member ids: updated.
  for (const v1::Member& m : after) {
    if (m.id_number() == members[3].id_number()) {
      EXPECT_EQ(m.phone(), "13912345678");
    }
  }
  EXPECT_EQ(Cells(after), Cells(members));
}

// ---------------------------------------------------------------------------
// Modes

// A member CSV whose row `bad_row` (spreadsheet numbering) has a wrong ID
// number check character.
std::string CsvWithBadIdNumber(const std::vector<v1::Member>& members,
                               int bad_index) {
  return ingest::testing::MemberCsv(members, {bad_index});
}

TEST_F(ImportTest, DryRunWritesNothing) {
  std::vector<v1::Member> members = Members(30);
  const uint64_t log = node_->store().next_log_pos();
  v1::ImportOptions options = MemberOptions();
  options.set_dry_run(true);
  ImportResult r = Import(
      g1_, options,
      Export(members, ingest::FileFormat::kXlsx, ingest::TextEncoding::kUtf8));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.summary.ok());
  EXPECT_TRUE(r.summary.dry_run());
  EXPECT_FALSE(r.summary.written());
  EXPECT_EQ(r.summary.counts().created(), 30);
  EXPECT_THAT(r.summary.message(), HasSubstr("试导入"));
  EXPECT_EQ(node_->store().next_log_pos(), log);
  EXPECT_TRUE(ListAll(g1_, "g1").empty());
}

TEST_F(ImportTest, AllOrNothingWithOneBadRowWritesNothing) {
  std::vector<v1::Member> members = Members(50);
  const std::string csv = CsvWithBadIdNumber(members, 36);  // Row 38.
  const uint64_t log = node_->store().next_log_pos();
  ImportResult r = Import(g1_, MemberOptions(), csv);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_FALSE(r.summary.ok());
  EXPECT_FALSE(r.summary.written());
  EXPECT_EQ(r.summary.counts().invalid_rows(), 1);
  EXPECT_EQ(r.summary.counts().committed_rows(), 0);
  ASSERT_EQ(r.summary.errors_size(), 1);
  EXPECT_EQ(r.summary.errors(0).row(), 38);
  EXPECT_EQ(r.summary.errors(0).column(), "公民身份号码");
  EXPECT_THAT(r.summary.errors(0).reason(), HasSubstr("校验"));
  EXPECT_THAT(r.summary.error_report_csv(), HasSubstr("行号,列,内容,问题"));
  EXPECT_THAT(r.summary.error_report_csv(), HasSubstr("38,公民身份号码"));
  EXPECT_THAT(r.summary.message(), HasSubstr("未导入"));
  EXPECT_EQ(node_->store().next_log_pos(), log);
}

TEST_F(ImportTest, ValidRowsOnlyWritesTheGoodRows) {
  std::vector<v1::Member> members = Members(50);
  v1::ImportOptions options = MemberOptions();
  options.set_mode(v1::IMPORT_VALID_ROWS_ONLY);
  ImportResult r = Import(g1_, options, CsvWithBadIdNumber(members, 36));
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.summary.ok());
  EXPECT_TRUE(r.summary.written());
  EXPECT_EQ(r.summary.counts().created(), 49);
  EXPECT_EQ(r.summary.counts().invalid_rows(), 1);
  EXPECT_EQ(ListAll(g1_, "g1").size(), 49u);
  // The corrected file completes the import, touching only that row.
  r = Import(
      g1_, options,
      Export(members, ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8));
  EXPECT_TRUE(r.summary.ok());
  EXPECT_EQ(r.summary.counts().created(), 1);
  EXPECT_EQ(r.summary.counts().unchanged(), 49);
}

TEST_F(ImportTest, PersonInAnotherUnionIsARowError) {
  std::vector<v1::Member> members = Members(10);
  ASSERT_TRUE(Import(g1_, MemberOptions(),
                     Export(members, ingest::FileFormat::kCsv,
                            ingest::TextEncoding::kUtf8))
                  .summary.ok());
  std::vector<v1::Member> others = Members(5, 500);
  others.push_back(members[2]);  // Already in g1.
  for (v1::Member& m : others) m.set_org_id("g2");
  const uint64_t log = node_->store().next_log_pos();
  ImportResult r = Import(
      g2_, MemberOptions("g2"),
      Export(others, ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8));
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.summary.ok());
  EXPECT_FALSE(r.summary.written());
  ASSERT_EQ(r.summary.errors_size(), 1);
  EXPECT_EQ(r.summary.errors(0).row(), 7);
  EXPECT_THAT(r.summary.errors(0).reason(), HasSubstr("已在其他工会在册"));
  // The message does not say which union holds the person (R10.2).
  EXPECT_THAT(r.summary.errors(0).reason(), Not(HasSubstr("g1")));
  EXPECT_EQ(node_->store().next_log_pos(), log);
}

// ---------------------------------------------------------------------------
// Broken and hostile files: a clear error, nothing written, audited.

TEST_F(ImportTest, MalformedFilesAreRefusedAndWriteNothing) {
  const std::vector<v1::Member> members = Members(3);
  const std::string good_row = CsvLine(ingest::MemberToCells(members[0]));
  const std::string dtd =
      R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">)"
      R"(<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">)"
      R"(<!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>)";
  std::vector<XCell> formula_row;
  for (const std::string& c : ingest::MemberToCells(members[0])) {
    formula_row.push_back(XCell::Str(c));
  }
  formula_row[4] = XCell::Formula("=1+1");
  std::vector<std::string> headers;
  for (const auto& col : ingest::MemberTemplate().columns) {
    headers.emplace_back(col.header);
  }
  std::string gbk_csv =
      Iconv(absl::StrCat(MemberHeaderCsv(), "\r\n", good_row), "GBK");
  struct Case {
    std::string name;
    std::string bytes;
    v1::TextEncoding encoding;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"broken zip", std::string("PK\x03\x04", 4) + std::string(300, 'x'),
       v1::TEXT_ENCODING_AUTO, ""},
      {"wrong header", "姓名,性别,电话\r\n张三,男,13800000000\r\n",
       v1::TEXT_ENCODING_AUTO, "表头"},
      {"formula", WriteXlsx({StrRow(headers), formula_row}, "会员信息"),
       v1::TEXT_ENCODING_AUTO, "公式"},
      {"billion laughs",
       MinimalXlsx(
           dtd +
           R"(<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>)"),
       v1::TEXT_ENCODING_AUTO, "DTD"},
      {"10 MB cell",
       absl::StrCat(MemberHeaderCsv(), "\r\n", std::string(10 << 20, 'a'),
                    "\r\n"),
       v1::TEXT_ENCODING_AUTO, ""},
      {"wrong encoding named", gbk_csv, v1::TEXT_ENCODING_UTF8, "UTF-8"},
      {"empty file", "", v1::TEXT_ENCODING_AUTO, "空"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const uint64_t log = node_->store().next_log_pos();
    const uint64_t from = AuditEnd();
    v1::ImportOptions options = MemberOptions();
    options.set_encoding(c.encoding);
    options.set_mode(v1::IMPORT_VALID_ROWS_ONLY);  // Even so, nothing.
    ImportResult r = Import(g1_, options, c.bytes);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << r.status.error_message();
    EXPECT_FALSE(r.status.error_message().empty());
    if (!c.message.empty()) {
      EXPECT_THAT(r.status.error_message(), HasSubstr(c.message));
    }
    EXPECT_EQ(node_->store().next_log_pos(), log);
    std::vector<v1::AuditEntry> audit = AuditSince(from, "ImportMembers");
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit[0].outcome(), v1::AUDIT_FAILED);
  }
  EXPECT_TRUE(ListAll(g1_, "g1").empty());
  // The spool directory is left empty.
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/db/import-spool"));
}

TEST_F(ImportTest, TruncatedUploadIsRefused) {
  const std::string csv =
      Export(Members(5), ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8);
  v1::ImportOptions options = MemberOptions();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + g1_);
  auto stream = ingest_->Import(&ctx);
  v1::ImportRequest req;
  options.set_size_bytes(static_cast<int64_t>(csv.size()) + 10);
  *req.mutable_options() = options;
  ASSERT_TRUE(stream->Write(req));
  req.set_chunk(csv);
  ASSERT_TRUE(stream->Write(req));
  stream->WritesDone();
  v1::ImportProgress p;
  while (stream->Read(&p)) {
  }
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("上传不完整"));
  EXPECT_TRUE(ListAll(g1_, "g1").empty());
}

// ---------------------------------------------------------------------------
// Scope

TEST_F(ImportTest, OnlyTheUnionsOwnDataAdministratorImportsMembers) {
  const std::string csv =
      Export(Members(5), ingest::FileFormat::kCsv, ingest::TextEncoding::kUtf8);
  struct Case {
    std::string who;
    std::string token;
  };
  for (const Case& c : std::vector<Case>{{"viewer of g1", g1_viewer_},
                                         {"admin of g2", g2_},
                                         {"admin of the parent d1", d1_},
                                         {"admin of the city", city_}}) {
    SCOPED_TRACE(c.who);
    const uint64_t log = node_->store().next_log_pos();
    const uint64_t from = AuditEnd();
    ImportResult r = Import(c.token, MemberOptions("g1"), csv);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << r.status.error_message();
    EXPECT_EQ(node_->store().next_log_pos(), log);
    std::vector<v1::AuditEntry> audit = AuditSince(from, "ImportMembers");
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit[0].outcome(), v1::AUDIT_DENIED);
    // A reviewer is stopped by the role table before any target is read.
    EXPECT_EQ(audit[0].target(), c.who == "viewer of g1" ? "" : "org/g1");
  }
  // No session at all.
  ImportResult r = Import("", MemberOptions("g1"), csv);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A district is not a grassroots union: no members there.
  r = Import(d1_, MemberOptions("d1"), csv);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(ListAll(g1_, "g1").empty());
}

// ---------------------------------------------------------------------------
// Organisations

std::string OrgCsv(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::string> headers;
  for (const auto& col : ingest::OrgTemplate().columns) {
    headers.emplace_back(col.header);
  }
  std::string csv = CsvLine(headers);
  for (const auto& r : rows) {
    std::vector<std::string> cells(headers.size());
    for (size_t i = 0; i < r.size() && i < cells.size(); ++i) cells[i] = r[i];
    csv += CsvLine(cells);
  }
  return csv;
}

TEST_F(ImportTest, OrganisationsAreRegisteredAsChildrenOfTheCaller) {
  // 组织编号, 组织名称, 组织类别, 上级组织编号, 所属区域, 所属系统, 托管节点
  const std::string csv = OrgCsv({
      {"d1.a", "芙蓉区甲公司工会", "基层法人独立工会", "d1", "", "", ""},
      {"d1.b", "芙蓉区乙街道工会联合会", "乡镇（街道）工会联合会", "d1", "",
       "education", "d1.b"},
  });
  v1::ImportOptions options;
  options.set_kind(v1::TEMPLATE_ORG);
  ImportResult r = Import(d1_, options, csv);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_TRUE(r.summary.ok())
      << r.summary.message()
      << (r.summary.errors_size() > 0 ? r.summary.errors(0).reason() : "");
  EXPECT_EQ(r.summary.counts().created(), 2);
  auto a = node_->store().GetOrg("d1.a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->parent_id(), "d1");
  EXPECT_EQ(a->tier(), 3);
  EXPECT_EQ(a->region(), "430102");  // Inherited.
  EXPECT_EQ(a->host_node(), kCity);
  auto b = node_->store().GetOrg("d1.b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->system(), "education");
  EXPECT_EQ(b->host_node(), "d1.b");

  // Again: unchanged, nothing written.
  const uint64_t log = node_->store().next_log_pos();
  r = Import(d1_, options, csv);
  EXPECT_TRUE(r.summary.ok());
  EXPECT_EQ(r.summary.counts().unchanged(), 2);
  EXPECT_EQ(node_->store().next_log_pos(), log);

  // Rows that are not the caller's children, or clash, are row errors.
  const std::string bad = OrgCsv({
      {"d1.c", "其他上级的工会", "基层法人独立工会", "430100", "", "", ""},
      {"d1.a", "改了名字的工会", "基层法人独立工会", "d1", "", "", ""},
      {"d1.d", "市总工会", "市总直属基层工会", "d1", "", "", ""},
      // A system the city does not list (a typo).
      {"d1.e", "芙蓉区丙学校工会", "基层法人独立工会", "d1", "", "educaton",
       ""},
  });
  r = Import(d1_, options, bad);
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.summary.ok());
  EXPECT_EQ(r.summary.counts().invalid_rows(), 4);
  bool named = false;
  for (const auto& e : r.summary.errors()) {
    named = named || (e.column() == "所属系统" &&
                      e.reason().find("不是市总工会规定的系统代码") !=
                          std::string::npos);
  }
  EXPECT_TRUE(named);
  EXPECT_EQ(node_->store().next_log_pos(), log);

  // A grassroots union has no children; the city's admin registers under the
  // city only (a row naming d1 as parent is refused).
  r = Import(g1_, options, csv);
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.summary.ok());
  // A viewer may not import organisations.
  r = Import(g1_viewer_, options, csv);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace unionsync
