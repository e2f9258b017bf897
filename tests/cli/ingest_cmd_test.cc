// unionctl template / import members / import orgs: parsing, help, and whole
// runs against a real node in-process (RocksDB in a temp dir).
#include "cli/ingest_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/parse.h"
#include "cli/session.h"
#include "cli/unionctl.h"
#include "common/password.h"
#include "common/validation.h"
#include "ingest/template.h"
#include "ingest/writer.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "testing/test_vault.h"
#include "unionsync/v1/ingest.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::unionsync::testing::StatusIs;
using Args = std::vector<std::string>;

constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// `n` valid members with distinct ID numbers.
std::vector<v1::Member> Members(int n, uint64_t first = 0) {
  SynthGenerator gen(7);
  std::vector<v1::Member> out;
  for (int i = 0; i < n; ++i) {
    v1::Member m = gen.Member("g1");
    m.set_id_number(UniqueIdNumber(first + i));
    const IdNumberInfo info = *ParseIdNumber(m.id_number());
    m.set_gender(info.male ? v1::MALE : v1::FEMALE);
    m.set_join_date(absl::FormatCivilTime(absl::CivilDay(
        info.birth_date.year() + 18, info.birth_date.month(), 1)));
    out.push_back(std::move(m));
  }
  return out;
}

TEST(IngestParseTest, Template) {
  v1::GetTemplateRequest req;
  ASSERT_OK_AND_ASSIGN(TemplateArgs a, ParseTemplate({"member"}, &req));
  EXPECT_EQ(req.kind(), v1::TEMPLATE_MEMBER);
  EXPECT_EQ(req.format(), v1::FILE_FORMAT_XLSX);
  EXPECT_EQ(a.output, "");
  ASSERT_OK_AND_ASSIGN(a, ParseTemplate({"org", "--format", "csv", "--encoding",
                                         "gbk", "-o", "x.csv"},
                                        &req));
  EXPECT_EQ(req.kind(), v1::TEMPLATE_ORG);
  EXPECT_EQ(req.format(), v1::FILE_FORMAT_CSV);
  EXPECT_EQ(req.encoding(), v1::TEXT_ENCODING_GBK);
  EXPECT_EQ(a.output, "x.csv");
  EXPECT_THAT(
      ParseTemplate({"people"}, &req),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("member or org")));
  EXPECT_THAT(
      ParseTemplate({"member", "--encoding", "gbk"}, &req),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--format csv")));
  EXPECT_THAT(ParseTemplate({"member", "--format", "ods"}, &req),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IngestParseTest, Import) {
  v1::ImportOptions o;
  ASSERT_OK_AND_ASSIGN(
      ImportArgs a,
      ParseImport({"m.csv", "--org", "g1", "--dry-run", "--valid-rows-only",
                   "--encoding", "gb18030", "--errors", "e.csv"},
                  false, &o));
  EXPECT_EQ(a.file, "m.csv");
  EXPECT_EQ(a.errors_file, "e.csv");
  EXPECT_EQ(o.kind(), v1::TEMPLATE_MEMBER);
  EXPECT_EQ(o.org_id(), "g1");
  EXPECT_TRUE(o.dry_run());
  EXPECT_EQ(o.mode(), v1::IMPORT_VALID_ROWS_ONLY);
  EXPECT_EQ(o.encoding(), v1::TEXT_ENCODING_GB18030);
  ASSERT_OK_AND_ASSIGN(a, ParseImport({"o.xlsx"}, true, &o));
  EXPECT_EQ(o.kind(), v1::TEMPLATE_ORG);
  EXPECT_EQ(o.mode(), v1::IMPORT_ALL_OR_NOTHING);
  EXPECT_THAT(ParseImport({"o.xlsx", "--org", "g1"}, true, &o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown flag --org")));
  EXPECT_THAT(ParseImport({"m.xlsx", "--format", "xlsx", "--encoding", "gbk"},
                          false, &o),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseImport({}, false, &o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing argument FILE")));
}

TEST(IngestParseTest, HelpAndVerbTable) {
  EXPECT_THAT(HelpText("import members"), HasSubstr("--valid-rows-only"));
  EXPECT_THAT(HelpText("import members"), HasSubstr("--errors FILE"));
  EXPECT_THAT(HelpText("import"), HasSubstr("import orgs"));
  EXPECT_THAT(HelpText("template"), HasSubstr("-o FILE"));
  EXPECT_THAT(HelpText(""), HasSubstr("  template "));
  ASSERT_OK_AND_ASSIGN(
      CommandLine cl,
      ParseCommandLine({"import", "members", "f.csv"}, {"", "", "/h"}));
  EXPECT_EQ(cl.verb, "import members");
}

class IngestRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/unionsync_ingest_cmd_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    NodeOptions o;
    o.node_id = kCity;
    o.vault = testing::TestVault(kCity);
    o.data_dir = dir_ + "/db";
    o.listen = "127.0.0.1:0";
    o.admin.scrypt = ScryptParams::ForTests();
    auto node = NodeServer::Start(o);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    v1::Org city;
    city.set_id(kCity);
    city.set_name("长沙市总工会");
    city.set_kind(v1::CITY_FEDERATION);
    city.set_tier(1);
    auto pw = node_->admin().Bootstrap(city, "admin");
    ASSERT_TRUE(pw.ok());
    const std::string city_token = Activate("admin", *pw);
    const std::string d1 = Child(city_token, kCity, "d1",
                                 v1::DISTRICT_FEDERATION, "d1admin", "430102");
    Child(d1, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin", "");
    // unionctl's session: g1's data administrator.
    Session s;
    s.server = absl::StrCat("127.0.0.1:", node_->port());
    s.token = g1_token_;
    s.username = "g1admin";
    s.org_id = "g1";
    ASSERT_OK(WriteSessionFile(dir_ + "/home/.unionsync/session", s));
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Activate(const std::string& user, const std::string& initial) {
    v1::LoginRequest login;
    login.set_username(user);
    login.set_password(initial);
    auto session = node_->admin().Login(CallContext{}, login);
    EXPECT_TRUE(session.ok());
    v1::ChangePasswordRequest req;
    req.set_old_password(initial);
    req.set_new_password(kStrong);
    EXPECT_TRUE(node_->admin()
                    .ChangePassword(CallContext{session->token(), ""}, req)
                    .ok());
    return session->token();
  }

  std::string Child(const std::string& token, const std::string& parent,
                    const std::string& id, v1::OrgKind kind,
                    const std::string& admin, const std::string& region) {
    v1::CreateChildOrgRequest req;
    req.set_parent_id(parent);
    req.mutable_org()->set_id(id);
    req.mutable_org()->set_name(absl::StrCat("测试工会", id));
    req.mutable_org()->set_kind(kind);
    req.mutable_org()->set_region(region);
    req.set_admin_username(admin);
    auto resp = node_->admin().CreateChildOrg(CallContext{token, ""}, req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    std::string t = Activate(admin, resp->initial_password());
    if (id == "g1") g1_token_ = t;
    return t;
  }

  struct Result {
    int code;
    std::string out;
    std::string err;
  };
  Result Run(const Args& argv) {
    std::istringstream in;
    std::ostringstream out, err;
    Io io{&in, &out, &err, false, nullptr, nullptr};
    Environment env{"", "", dir_ + "/home"};
    int code = RunUnionctl(argv, env, io);
    return {code, out.str(), err.str()};
  }

  std::string MembersCsv(int n, int bad_row_index = -1) {
    std::vector<v1::Member> members = Members(n);
    ingest::ExportOptions eo;
    eo.file.format = ingest::FileFormat::kCsv;
    if (bad_row_index >= 0) members[bad_row_index].set_phone("12345");
    auto bytes = ingest::ExportMembersToBytes(members, eo);
    EXPECT_TRUE(bytes.ok());
    return *bytes;
  }

  std::string dir_;
  std::unique_ptr<NodeServer> node_;
  std::string g1_token_;
};

TEST_F(IngestRunTest, TemplateDownload) {
  const std::string xlsx = dir_ + "/m.xlsx";
  Result r = Run({"template", "member", "-o", xlsx});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("template saved"));
  EXPECT_EQ(ReadFile(xlsx).substr(0, 2), "PK");

  const std::string csv = dir_ + "/o.csv";
  r = Run({"--json", "template", "org", "--format", "csv", "--output", csv});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith(absl::StrCat("{\"path\":\"", csv, "\"")));
  EXPECT_THAT(r.out, HasSubstr("\"filename\":\"组织信息采集模板.csv\""));
  // UTF-8 with BOM, then the template's first header.
  EXPECT_THAT(ReadFile(csv),
              StartsWith(absl::StrCat(
                  "\xEF\xBB\xBF", ingest::OrgTemplate().columns[0].header)));

  r = Run({"template", "people"});
  EXPECT_EQ(r.code, kExitUsage);
}

TEST_F(IngestRunTest, ImportWithJsonAndExitCodes) {
  const std::string good = dir_ + "/good.csv";
  WriteBytes(good, MembersCsv(40));
  // A dry run: everything would be created, nothing is.
  Result r = Run({"--json", "import", "members", good, "--dry-run"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"dry_run\":true"));
  EXPECT_THAT(r.out, HasSubstr("\"created\":\"40\""));
  EXPECT_THAT(r.out, HasSubstr("\"written\":false"));
  EXPECT_EQ(r.err, "");  // No progress lines with --json.

  // A bad row, all or nothing: exit 1, the report saved, nothing written.
  const std::string bad = dir_ + "/bad.csv";
  WriteBytes(bad, MembersCsv(40, 9));
  const std::string errors = dir_ + "/errors.csv";
  const uint64_t log = node_->store().next_log_pos();
  r = Run({"import", "members", bad, "--org", "g1", "--errors", errors});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("未导入"));
  EXPECT_THAT(r.out, HasSubstr("手机号"));
  EXPECT_THAT(r.err, HasSubstr("nothing was imported"));
  EXPECT_THAT(ReadFile(errors), HasSubstr("行号,列,内容,问题"));
  EXPECT_THAT(ReadFile(errors), HasSubstr("11,"));
  EXPECT_EQ(node_->store().next_log_pos(), log);

  // Valid rows only: 39 written, exit 0.
  r = Run({"import", "members", bad, "--valid-rows-only"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("已导入正确的行"));

  // The whole file, JSON; then again: unchanged.
  r = Run({"--json", "import", "members", good});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"created\":\"1\""));
  EXPECT_THAT(r.out, HasSubstr("\"unchanged\":\"39\""));
  r = Run({"import", "members", good});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("未变40"));

  // Another union: refused.
  r = Run({"import", "members", good, "--org", "d1"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  // A file that is not there: a usage error.
  r = Run({"import", "members", dir_ + "/none.csv"});
  EXPECT_EQ(r.code, kExitUsage);
}

}  // namespace
}  // namespace unionsync::cli
