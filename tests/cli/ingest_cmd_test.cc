// unionctl template / import members / import orgs: parsing, help, and whole
// runs against a real node in-process (RocksDB in a temp dir).
#include "cli/ingest_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/parse.h"
#include "cli/unionctl.h"
#include "common/validation.h"
#include "ingest/template.h"
#include "ingest/writer.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/ingest.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::unionsync::testing::StatusIs;
using Args = std::vector<std::string>;

using ::unionsync::testing::kCity;

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
    dir_ = testing::MakeTempDir("unionsync_ingest_cmd_test");
    ASSERT_NO_FATAL_FAILURE(
        testing::StartNode(testing::CityNodeOptions(dir_), &node_));
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok());
    const std::string city_token = testing::Activate(*node_, "admin", *pw);
    const std::string d1 = testing::CreateActiveChild(
        *node_, city_token, kCity, "d1", v1::DISTRICT_FEDERATION, "d1admin",
        "430102");
    g1_token_ = testing::CreateActiveChild(
        *node_, d1, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "g1admin", "");
    // unionctl's session: g1's data administrator.
    ASSERT_OK(testing::WriteSession(dir_ + "/home", node_->port(), "g1admin",
                                    "g1", g1_token_));
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  using Result = testing::UnionctlResult;
  Result Run(const Args& argv) {
    return testing::RunUnionctlAt(dir_ + "/home", argv);
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
