// unionctl export request / approve / list / download / trace: parsing, help,
// and a whole approved export against a real node in-process (RocksDB in a
// temp dir), traced back from the downloaded file.
#include "cli/export_cmd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/parse.h"
#include "cli/unionctl.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/node_fixture.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/admin.pb.h"
#include "unionsync/v1/export.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::StatusIs;
using Args = std::vector<std::string>;

using ::unionsync::testing::kCity;
using ::unionsync::testing::kNow;

TEST(ExportParseTest, FieldsAndHelp) {
  ASSERT_OK_AND_ASSIGN(std::vector<int> f,
                       ParseExportFields("id_number, Phone,workplace"));
  EXPECT_EQ(f, (std::vector<int>{v1::EXPORT_ID_NUMBER, v1::EXPORT_PHONE,
                                 v1::EXPORT_WORKPLACE}));
  EXPECT_THAT(ParseExportFields("id_number,salary"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown field \"salary\"")));
  EXPECT_THAT(HelpText("export"), HasSubstr("export approve"));
  EXPECT_THAT(HelpText("export"), HasSubstr("export trace"));
  EXPECT_THAT(HelpText("export request"), HasSubstr("--recipient NAME"));
  ASSERT_OK_AND_ASSIGN(CommandLine cl,
                       ParseCommandLine({"export", "list"}, {"", "", "/h"}));
  EXPECT_EQ(cl.verb, "export list");
}

class ExportRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("unionsync_export_cmd_test");
    ASSERT_NO_FATAL_FAILURE(
        testing::StartNode(testing::CityNodeOptions(dir_, &clock_), &node_));
    auto pw = testing::BootstrapCity(*node_);
    ASSERT_TRUE(pw.ok());
    tokens_["admin"] = testing::Activate(*node_, "admin", *pw);
    tokens_["d1admin"] = testing::CreateActiveChild(
        *node_, tokens_["admin"], kCity, "d1", v1::DISTRICT_FEDERATION,
        "d1admin", "430102");
    tokens_["g1admin"] =
        testing::CreateActiveChild(*node_, tokens_["d1admin"], "d1", "g1",
                                   v1::INDEPENDENT_GRASSROOTS, "g1admin", "");
    v1::CreateAccountRequest lead;
    lead.set_org_id("g1");
    lead.set_username("g1lead");
    lead.set_role(v1::UNIT_LEADER);
    // The leader is made by the upper tier, never by the requester.
    auto created =
        node_->admin().CreateAccount(CallContext{tokens_["d1admin"], ""}, lead);
    ASSERT_TRUE(created.ok()) << created.status();
    tokens_["g1lead"] =
        testing::Activate(*node_, "g1lead", created->initial_password());
    SynthGenerator gen(5);
    for (int i = 0; i < 2; ++i) {
      v1::AddMemberRequest add;
      *add.mutable_member() = gen.Member("");
      auto added =
          node_->admin().AddMember(CallContext{tokens_["g1admin"], ""}, add);
      ASSERT_TRUE(added.ok()) << added.status();
      id_numbers_.push_back(add.member().id_number());
    }
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  void As(const std::string& user) {
    ASSERT_OK(testing::WriteSession(dir_ + "/home", node_->port(), user, "",
                                    tokens_[user]));
  }

  using Result = testing::UnionctlResult;
  Result Run(const Args& argv) {
    return testing::RunUnionctlAt(dir_ + "/home", argv);
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<NodeServer> node_;
  std::map<std::string, std::string> tokens_;
  std::vector<std::string> id_numbers_;
};

TEST_F(ExportRunTest, RequestApproveDownloadTrace) {
  As("g1admin");
  Result r = Run({"export", "request", "--purpose", "会员慰问名单", "--fields",
                  "workplace,id_number", "--recipient", "张三"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("待审批 pending"));
  auto ids = node_->store().ExportRequestsOfOrg("g1");
  ASSERT_TRUE(ids.ok() && ids->size() == 1);
  const std::string id = ids->front();
  EXPECT_THAT(r.out, HasSubstr(id));

  // The requester cannot approve.
  r = Run({"export", "approve", id});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("self-approval"));

  As("g1lead");
  r = Run({"export", "approve", id, "--allow-fields", "workplace,id_number"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("单位负责人 leader:  g1lead"));
  As("d1admin");
  r = Run({"export", "approve", id, "--allow-fields", "workplace,id_number",
           "--note", "同意"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("已批准 approved"));
  r = Run({"export", "list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr(id));
  EXPECT_THAT(r.out, HasSubstr("upper d1admin ok"));

  As("g1admin");
  const std::string file = dir_ + "/名单.csv";
  r = Run({"export", "download", id, "-o", file, "--format", "csv"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("EXP-", id, "-张三-")));
  std::ifstream in(file, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  for (const auto& n : id_numbers_) {
    EXPECT_THAT(content.str(), HasSubstr(n));
  }
  r = Run({"export", "download", id, "-o", dir_ + "/again.csv"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("already downloaded"));

  As("d1admin");
  r = Run({"export", "trace", file});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("指纹已验证"));
  EXPECT_THAT(r.out, HasSubstr("接收人 recipient:   张三"));
  EXPECT_THAT(r.out, HasSubstr("导出 downloaded:    by g1admin"));
  r = Run({"export", "trace"});
  EXPECT_EQ(r.code, kExitUsage);
}

}  // namespace
}  // namespace unionsync::cli
