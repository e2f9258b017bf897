// Tests of unionctl: argument parsing for every verb, help texts, bad input,
// the session file, output formatting, and whole runs against an in-process
// fake AdminService.
#include "cli/unionctl.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/args.h"
#include "cli/enums.h"
#include "cli/format.h"
#include "cli/parse.h"
#include "cli/session.h"
#include "common/mask.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/admin.pb.h"

namespace unionsync::cli {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;
using ::unionsync::testing::StatusIs;

using Args = std::vector<std::string>;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// A fresh temporary directory per test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "/unionctl_test.XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::system(absl::StrCat("rm -rf '", path_, "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// Global options and verb selection.

TEST(CommandLineTest, Defaults) {
  ASSERT_OK_AND_ASSIGN(CommandLine cl,
                       ParseCommandLine({"whoami"}, {"", "", "/home/wang"}));
  EXPECT_EQ(cl.verb, "whoami");
  EXPECT_EQ(cl.global.server, "127.0.0.1:7400");
  EXPECT_FALSE(cl.global.server_explicit);
  EXPECT_EQ(cl.global.session_path, "/home/wang/.unionsync/session");
  EXPECT_FALSE(cl.global.json);
  EXPECT_DOUBLE_EQ(cl.global.timeout_seconds, 10);
  EXPECT_FALSE(cl.help);
  EXPECT_THAT(cl.args, IsEmpty());
}

TEST(CommandLineTest, EnvironmentSetsDefaults) {
  ASSERT_OK_AND_ASSIGN(
      CommandLine cl,
      ParseCommandLine({"whoami"}, {"10.0.0.1:7400", "/srv/s", "/home/wang"}));
  EXPECT_EQ(cl.global.server, "10.0.0.1:7400");
  EXPECT_TRUE(cl.global.server_explicit);
  EXPECT_EQ(cl.global.session_path, "/srv/s");
}

TEST(CommandLineTest, FlagsOverrideEnvironment) {
  ASSERT_OK_AND_ASSIGN(
      CommandLine cl,
      ParseCommandLine({"--server", "node2:7401", "--session=/tmp/s", "--json",
                        "--timeout", "2.5", "org", "get", "furong"},
                       {"10.0.0.1:7400", "/srv/s", "/home/wang"}));
  EXPECT_EQ(cl.global.server, "node2:7401");
  EXPECT_TRUE(cl.global.server_explicit);
  EXPECT_EQ(cl.global.session_path, "/tmp/s");
  EXPECT_TRUE(cl.global.json);
  EXPECT_DOUBLE_EQ(cl.global.timeout_seconds, 2.5);
  EXPECT_EQ(cl.verb, "org get");
  EXPECT_THAT(cl.args, ElementsAre("furong"));
}

TEST(CommandLineTest, BadGlobalOptions) {
  const Environment env{"", "", "/h"};
  EXPECT_THAT(ParseCommandLine({"--timeout", "0", "whoami"}, env),
              StatusIs(kInvalid, HasSubstr("bad number for --timeout")));
  EXPECT_THAT(ParseCommandLine({"--timeout", "ten", "whoami"}, env),
              StatusIs(kInvalid, HasSubstr("bad number for --timeout")));
  EXPECT_THAT(ParseCommandLine({"--server"}, env),
              StatusIs(kInvalid, HasSubstr("--server needs a value")));
  EXPECT_THAT(ParseCommandLine({"--server", "--json", "whoami"}, env),
              StatusIs(kInvalid, HasSubstr("--server needs a value")));
  EXPECT_THAT(ParseCommandLine({"--verbose", "whoami"}, env),
              StatusIs(kInvalid, HasSubstr("unknown global option --verbose")));
}

TEST(CommandLineTest, BadVerbs) {
  const Environment env{"", "", "/h"};
  EXPECT_THAT(ParseCommandLine({}, env),
              StatusIs(kInvalid, HasSubstr("missing verb")));
  EXPECT_THAT(ParseCommandLine({"frobnicate"}, env),
              StatusIs(kInvalid, HasSubstr("unknown verb \"frobnicate\"")));
  EXPECT_THAT(ParseCommandLine({"org"}, env),
              StatusIs(kInvalid, HasSubstr("create, get, children, update")));
  EXPECT_THAT(ParseCommandLine({"org", "delete", "x"}, env),
              StatusIs(kInvalid, HasSubstr("unknown verb `org delete`")));
  EXPECT_THAT(ParseCommandLine({"member", "frob"}, env),
              StatusIs(kInvalid, HasSubstr("add, update, transfer, remove")));
  EXPECT_THAT(ParseCommandLine({"help", "nope"}, env),
              StatusIs(kInvalid, HasSubstr("unknown verb")));
}

TEST(CommandLineTest, HelpForms) {
  const Environment env{"", "", "/h"};
  struct Case {
    Args argv;
    std::string verb;
  };
  for (const Case& c : std::vector<Case>{
           {{"--help"}, ""},
           {{"-h"}, ""},
           {{"help"}, ""},
           {{"help", "org", "create"}, "org create"},
           {{"help", "member"}, "member"},
           {{"org", "--help"}, "org"},
           {{"--help", "org"}, "org"},
           {{"org", "create", "--help"}, "org create"},
           {{"org", "create", "--parent", "x", "-h"}, "org create"},
           {{"--json", "login", "--help"}, "login"},
       }) {
    ASSERT_OK_AND_ASSIGN(CommandLine cl, ParseCommandLine(c.argv, env));
    EXPECT_TRUE(cl.help) << c.argv[0];
    EXPECT_EQ(cl.verb, c.verb);
  }
  // After "--", --help is an argument.
  ASSERT_OK_AND_ASSIGN(CommandLine cl,
                       ParseCommandLine({"org", "get", "--", "--help"}, env));
  EXPECT_FALSE(cl.help);
}

// ---------------------------------------------------------------------------------------------
// --help of every verb.

TEST(HelpTest, EveryVerbHasUsageArgumentsAndExample) {
  std::vector<std::string> verbs = VerbNames();
  EXPECT_EQ(verbs.size(),
            22u + 3u /* template, import members, import orgs */ +
                2u /* audit verify, audit search */ +
                5u /* progress, warnings, conflicts, resolve, freshness */ +
                5u /* export request, approve, list, download, trace */ +
                4u /* backup create, list, verify, restore */);
  for (const std::string& verb : verbs) {
    std::string help = HelpText(verb);
    EXPECT_THAT(help, StartsWith(absl::StrCat(
                          "Usage: unionctl [global options] ", verb)))
        << verb;
    EXPECT_THAT(help, HasSubstr("Options:\n")) << verb;
    EXPECT_THAT(help, HasSubstr("-h, --help")) << verb;
    EXPECT_THAT(help, HasSubstr(absl::StrCat("  unionctl ")))
        << verb << ": no example";
    EXPECT_THAT(help, Not(HasSubstr("\n\n\n"))) << verb;
    // The general help lists every verb.
    EXPECT_THAT(HelpText(""), HasSubstr(absl::StrCat("  ", verb, " "))) << verb;
  }
}

TEST(HelpTest, HelpShowsWhatTheParserAccepts) {
  std::string help = HelpText("org create");
  for (const char* flag :
       {"--parent ID", "--name NAME", "--kind KIND", "--id ID", "--region CODE",
        "--system CODE", "--admin USER", "--admin-name NAME"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
  EXPECT_THAT(help, HasSubstr("district_federation"));
  EXPECT_THAT(help, HasSubstr("区（县）市总工会"));
  EXPECT_THAT(help, HasSubstr("shown only once"));
  EXPECT_THAT(HelpText("member list"), HasSubstr("Arguments:\n  ORG"));
  EXPECT_THAT(HelpText("member get"), HasSubstr("[MEMBER_ID]"));
  EXPECT_THAT(HelpText("org update"), HasSubstr("--clear FIELD"));
  EXPECT_THAT(HelpText("org update"), HasSubstr("(repeatable)"));
  // Summary: the Chinese labels clerks see, explained in English.
  std::string summary = HelpText("summary");
  for (const char* label :
       {"组织数", "基层工会数", "资料完整", "已激活", "会员数", "农民工会员"}) {
    EXPECT_THAT(summary, HasSubstr(label));
  }
  EXPECT_THAT(summary, HasSubstr("grassroots unions"));
  EXPECT_THAT(HelpText("org"), HasSubstr("org children"));
  EXPECT_THAT(HelpText(""), HasSubstr("--timeout SECONDS"));
}

TEST(HelpTest, RunPrintsHelpAndExitsZero) {
  for (const std::string& verb : VerbNames()) {
    Args argv = absl::StrSplit(verb, ' ');
    argv.push_back("--help");
    std::istringstream in;
    std::ostringstream out, err;
    Io io{&in, &out, &err, false, nullptr, nullptr};
    EXPECT_EQ(RunUnionctl(argv, {"", "", "/nonexistent"}, io), kExitOk) << verb;
    EXPECT_EQ(out.str(), HelpText(verb));
    EXPECT_EQ(err.str(), "");
  }
}

// ---------------------------------------------------------------------------------------------
// The generic flag parser.

TEST(ArgsTest, FlagForms) {
  VerbSpec spec{"t",
                "test",
                {{"A", "a"}, {"B", "b", true}},
                {FlagSpec{"v", FlagType::kValue, "V", "", false},
                 FlagSpec{"b", FlagType::kBool, "", "", false},
                 FlagSpec{"r", FlagType::kRepeated, "R", "", false}},
                "",
                {}};
  ASSERT_OK_AND_ASSIGN(ParsedArgs a,
                       ParseVerbArgs(spec, {"--v=x=y", "one", "--b", "--r", "1",
                                            "--r=2", "--", "--two"}));
  EXPECT_EQ(a.Get("v"), "x=y");
  EXPECT_TRUE(a.Has("b"));
  EXPECT_THAT(a.GetAll("r"), ElementsAre("1", "2"));
  EXPECT_THAT(a.positional(), ElementsAre("one", "--two"));
  EXPECT_EQ(a.Get("absent", "fallback"), "fallback");

  EXPECT_THAT(ParseVerbArgs(spec, {"a", "--v"}),
              StatusIs(kInvalid, HasSubstr("--v needs a value")));
  EXPECT_THAT(ParseVerbArgs(spec, {"a", "--v", "--b"}),
              StatusIs(kInvalid, HasSubstr("--v needs a value")));
  EXPECT_THAT(ParseVerbArgs(spec, {"a", "--v", "1", "--v", "2"}),
              StatusIs(kInvalid, HasSubstr("more than once")));
  EXPECT_THAT(ParseVerbArgs(spec, {"a", "--b=yes"}),
              StatusIs(kInvalid, HasSubstr("takes no value")));
  EXPECT_THAT(
      ParseVerbArgs(spec, {"a", "--nope"}),
      StatusIs(kInvalid, HasSubstr("unknown flag --nope for `unionctl t`")));
  EXPECT_THAT(ParseVerbArgs(spec, {"a", "-x"}),
              StatusIs(kInvalid, HasSubstr("unknown flag -x")));
  EXPECT_THAT(ParseVerbArgs(spec, {}),
              StatusIs(kInvalid, HasSubstr("missing argument A")));
  EXPECT_THAT(ParseVerbArgs(spec, {"a", "b", "c"}),
              StatusIs(kInvalid, HasSubstr("unexpected argument \"c\"")));
  EXPECT_THAT(ParseVerbArgs(spec, {""}),
              StatusIs(kInvalid, HasSubstr("must not be empty")));
}

TEST(ArgsTest, GlobalOptionAfterVerbGetsAHint) {
  v1::GetOrgRequest req;
  EXPECT_THAT(ParseOrgGet({"furong", "--json"}, &req),
              StatusIs(kInvalid, HasSubstr("put it before the verb")));
}

TEST(ArgsTest, DisplayWidthCountsChineseAsTwo) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("会员数"), 6);
  EXPECT_EQ(DisplayWidth("区（县）"), 8);
  EXPECT_EQ(PadRight("组织", 6), "组织  ");
  EXPECT_EQ(PadLeft("12", 5), "   12");
}

// ---------------------------------------------------------------------------------------------
// Session verbs.

TEST(ParseTest, Login) {
  ASSERT_OK_AND_ASSIGN(LoginArgs a, ParseLogin({"furong_admin"}));
  EXPECT_EQ(a.username, "furong_admin");
  EXPECT_FALSE(a.password_stdin);
  ASSERT_OK_AND_ASSIGN(a, ParseLogin({"--password-stdin", "furong_admin"}));
  EXPECT_TRUE(a.password_stdin);
  EXPECT_THAT(ParseLogin({}),
              StatusIs(kInvalid, HasSubstr("missing argument USER")));
  EXPECT_THAT(ParseLogin({"a", "b"}),
              StatusIs(kInvalid, HasSubstr("unexpected")));
  EXPECT_THAT(ParseLogin({"a", "--password", "x"}),
              StatusIs(kInvalid, HasSubstr("unknown flag --password")));
}

TEST(ParseTest, LogoutPasswdWhoAmI) {
  EXPECT_OK(ParseLogout({}));
  EXPECT_THAT(ParseLogout({"x"}), StatusIs(kInvalid));
  EXPECT_OK(ParseWhoAmI({}));
  EXPECT_THAT(ParseWhoAmI({"--all"}), StatusIs(kInvalid));
  ASSERT_OK_AND_ASSIGN(PasswdArgs p, ParsePasswd({"--password-stdin"}));
  EXPECT_TRUE(p.password_stdin);
  ASSERT_OK_AND_ASSIGN(p, ParsePasswd({}));
  EXPECT_FALSE(p.password_stdin);
}

// ---------------------------------------------------------------------------------------------
// org verbs.

TEST(ParseTest, OrgCreate) {
  v1::CreateChildOrgRequest req;
  ASSERT_OK(ParseOrgCreate(
      {"--parent", "furong", "--name", "五里牌街道工会联合会", "--kind",
       "township_federation", "--id", "furong.wlp", "--region", "430102",
       "--system", "education", "--admin", "wlp_admin", "--admin-name", "王芳"},
      &req));
  EXPECT_EQ(req.parent_id(), "furong");
  EXPECT_EQ(req.org().id(), "furong.wlp");
  EXPECT_EQ(req.org().name(), "五里牌街道工会联合会");
  EXPECT_EQ(req.org().kind(), v1::TOWNSHIP_FEDERATION);
  EXPECT_EQ(req.org().region(), "430102");
  EXPECT_EQ(req.org().system(), "education");
  EXPECT_EQ(req.admin_username(), "wlp_admin");
  EXPECT_EQ(req.admin_display_name(), "王芳");

  // Minimal, and kind spellings.
  ASSERT_OK(ParseOrgCreate({"--parent", "c", "--name", "N", "--kind",
                            "District-Federation", "--admin", "a"},
                           &req));
  EXPECT_EQ(req.org().kind(), v1::DISTRICT_FEDERATION);
  EXPECT_EQ(req.org().id(), "");
  EXPECT_EQ(req.admin_display_name(), "");
}

TEST(ParseTest, OrgCreateBadInput) {
  v1::CreateChildOrgRequest req;
  const Args base = {"--parent", "c", "--name", "N", "--kind", "village_joint"};
  EXPECT_THAT(ParseOrgCreate(base, &req),
              StatusIs(kInvalid, HasSubstr("missing required flag --admin")));
  Args bad_kind = {"--parent", "c",       "--name",  "N",
                   "--kind",   "village", "--admin", "a"};
  EXPECT_THAT(
      ParseOrgCreate(bad_kind, &req),
      StatusIs(kInvalid, AllOf(HasSubstr("bad organisation kind \"village\""),
                               HasSubstr("village_joint"))));
  Args bad_region = base;
  bad_region.insert(bad_region.end(), {"--admin", "a", "--region", "4301"});
  EXPECT_THAT(ParseOrgCreate(bad_region, &req),
              StatusIs(kInvalid, HasSubstr("6-digit")));
  Args empty_name = {"--parent",      "c",       "--name", "", "--kind",
                     "village_joint", "--admin", "a"};
  EXPECT_THAT(ParseOrgCreate(empty_name, &req),
              StatusIs(kInvalid, HasSubstr("--name must not be empty")));
  EXPECT_THAT(ParseOrgCreate({"x"}, &req), StatusIs(kInvalid));
}

TEST(ParseTest, OrgGetAndChildren) {
  v1::GetOrgRequest get;
  ASSERT_OK(ParseOrgGet({"furong"}, &get));
  EXPECT_EQ(get.org_id(), "furong");
  EXPECT_THAT(ParseOrgGet({}, &get),
              StatusIs(kInvalid, HasSubstr("missing argument ID")));

  v1::ListChildOrgsRequest list;
  Paging paging;
  ASSERT_OK(ParseOrgChildren({"furong"}, &list, &paging));
  EXPECT_EQ(list.parent_id(), "furong");
  EXPECT_EQ(list.page_size(), 0);
  EXPECT_FALSE(paging.all);
  ASSERT_OK(ParseOrgChildren(
      {"furong", "--page-size", "50", "--all", "--page-token", "t1"}, &list,
      &paging));
  EXPECT_EQ(list.page_size(), 50);
  EXPECT_EQ(list.page_token(), "t1");
  EXPECT_TRUE(paging.all);
  for (const char* bad : {"0", "1001", "-1", "ten", "5x", ""}) {
    EXPECT_THAT(
        ParseOrgChildren({"furong", "--page-size", bad}, &list, &paging),
        StatusIs(kInvalid, HasSubstr("bad number for --page-size")))
        << bad;
  }
}

TEST(ParseTest, OrgUpdate) {
  v1::UpdateOrgProfileRequest req;
  ASSERT_OK(ParseOrgUpdate({"furong.wlp",
                            "--credit-code",
                            "91430102mA4l0b7x0q",
                            "--chair-name",
                            "李明",
                            "--chair-phone",
                            "13807310000",
                            "--admin-name",
                            "王芳",
                            "--admin-phone",
                            "13807310001",
                            "--admin-trained",
                            "2019-11-20",
                            "--contact-name",
                            "赵六",
                            "--contact-phone",
                            "13807310002",
                            "--employees",
                            "350",
                            "--founded",
                            "2001-02-28",
                            "--address",
                            "芙蓉区五里牌街道1号"},
                           &req));
  EXPECT_EQ(req.org_id(), "furong.wlp");
  const v1::Org& p = req.profile();
  EXPECT_EQ(p.credit_code(), "91430102MA4L0B7X0Q");
  EXPECT_EQ(p.chair().name(), "李明");
  EXPECT_EQ(p.chair().phone(), "13807310000");
  EXPECT_EQ(p.data_admin().name(), "王芳");
  EXPECT_EQ(p.data_admin().phone(), "13807310001");
  EXPECT_EQ(p.data_admin().trained_date(), "2019-11-20");
  EXPECT_EQ(p.contact().name(), "赵六");
  EXPECT_EQ(p.contact().phone(), "13807310002");
  EXPECT_EQ(p.employee_count(), 350);
  EXPECT_EQ(p.founding_date(), "2001-02-28");
  EXPECT_EQ(p.address(), "芙蓉区五里牌街道1号");
  EXPECT_THAT(req.clear_fields(), IsEmpty());
}

TEST(ParseTest, OrgUpdateClear) {
  v1::UpdateOrgProfileRequest req;
  ASSERT_OK(ParseOrgUpdate({"o", "--clear", "chair-phone", "--clear", "address",
                            "--clear", "contact", "--clear", "employee_count",
                            "--clear", "admin", "--clear", "address"},
                           &req));
  EXPECT_THAT(req.clear_fields(),
              ElementsAre("chair.phone", "address", "contact", "employee_count",
                          "data_admin"));
  EXPECT_FALSE(req.profile().has_chair());
  // Setting one field and clearing another is fine.
  ASSERT_OK(ParseOrgUpdate(
      {"o", "--chair-name", "李明", "--clear", "chair-phone"}, &req));
  EXPECT_THAT(req.clear_fields(), ElementsAre("chair.phone"));
}

TEST(ParseTest, OrgUpdateBadInput) {
  v1::UpdateOrgProfileRequest req;
  EXPECT_THAT(ParseOrgUpdate({"o"}, &req),
              StatusIs(kInvalid, HasSubstr("nothing to update")));
  EXPECT_THAT(ParseOrgUpdate({"o", "--clear", "name"}, &req),
              StatusIs(kInvalid, HasSubstr("bad field for --clear: \"name\"")));
  EXPECT_THAT(
      ParseOrgUpdate({"o", "--chair-name", "x", "--clear", "chair"}, &req),
      StatusIs(kInvalid, HasSubstr("both set and cleared")));
  EXPECT_THAT(ParseOrgUpdate({"o", "--address", ""}, &req),
              StatusIs(kInvalid, HasSubstr("--clear address")));
  EXPECT_THAT(ParseOrgUpdate({"o", "--founded", "2019-02-29"}, &req),
              StatusIs(kInvalid, HasSubstr("bad date for --founded")));
  EXPECT_THAT(ParseOrgUpdate({"o", "--admin-trained", "20191120"}, &req),
              StatusIs(kInvalid, HasSubstr("bad date for --admin-trained")));
  EXPECT_THAT(ParseOrgUpdate({"o", "--employees", "many"}, &req),
              StatusIs(kInvalid, HasSubstr("bad number for --employees")));
  EXPECT_THAT(ParseOrgUpdate({"o", "--employees", "0"}, &req),
              StatusIs(kInvalid, HasSubstr("bad number for --employees")));
  EXPECT_THAT(ParseOrgUpdate({"o", "--name", "x"}, &req),
              StatusIs(kInvalid, HasSubstr("unknown flag --name")));
}

TEST(ParseTest, CivilDates) {
  EXPECT_TRUE(IsCivilDate("2020-02-29"));
  EXPECT_TRUE(IsCivilDate("2019-12-31"));
  EXPECT_FALSE(IsCivilDate("2019-02-29"));
  EXPECT_FALSE(IsCivilDate("1900-02-29"));
  EXPECT_FALSE(IsCivilDate("2019-13-01"));
  EXPECT_FALSE(IsCivilDate("2019-04-31"));
  EXPECT_FALSE(IsCivilDate("2019-4-1"));
  EXPECT_FALSE(IsCivilDate("2019/04/01"));
  EXPECT_FALSE(IsCivilDate(""));
}

// ---------------------------------------------------------------------------------------------
// account verbs.

TEST(ParseTest, AccountCreate) {
  v1::CreateAccountRequest req;
  ASSERT_OK(ParseAccountCreate({"--org", "furong", "--user", "furong_view",
                                "--role", "reviewer", "--name", "张伟"},
                               &req));
  EXPECT_EQ(req.org_id(), "furong");
  EXPECT_EQ(req.username(), "furong_view");
  EXPECT_EQ(req.role(), v1::REVIEWER);
  EXPECT_EQ(req.display_name(), "张伟");
  ASSERT_OK(ParseAccountCreate({"--org", "o", "--user", "u", "--role", "admin"},
                               &req));
  EXPECT_EQ(req.role(), v1::DATA_ADMIN);
  EXPECT_EQ(req.display_name(), "");
  EXPECT_THAT(
      ParseAccountCreate({"--org", "o", "--user", "u", "--role", "root"}, &req),
      StatusIs(
          kInvalid,
          HasSubstr("bad role \"root\": expected one of admin, reviewer")));
  EXPECT_THAT(ParseAccountCreate({"--org", "o", "--role", "admin"}, &req),
              StatusIs(kInvalid, HasSubstr("missing required flag --user")));
}

TEST(ParseTest, AccountListDisableEnableReset) {
  v1::ListAccountsRequest list;
  ASSERT_OK(ParseAccountList({"furong"}, &list));
  EXPECT_EQ(list.org_id(), "furong");
  EXPECT_THAT(ParseAccountList({}, &list), StatusIs(kInvalid));

  v1::DisableAccountRequest disable;
  ASSERT_OK(ParseAccountDisable({"wlp_admin", "--reason", "离职"}, &disable));
  EXPECT_EQ(disable.username(), "wlp_admin");
  EXPECT_EQ(disable.reason(), "离职");
  ASSERT_OK(ParseAccountDisable({"wlp_admin"}, &disable));
  EXPECT_EQ(disable.reason(), "");
  EXPECT_THAT(ParseAccountDisable({"wlp_admin", "--reason"}, &disable),
              StatusIs(kInvalid, HasSubstr("--reason needs a value")));

  v1::EnableAccountRequest enable;
  ASSERT_OK(ParseAccountEnable({"wlp_admin"}, &enable));
  EXPECT_EQ(enable.username(), "wlp_admin");
  EXPECT_THAT(ParseAccountEnable({"wlp_admin", "--reason", "x"}, &enable),
              StatusIs(kInvalid, HasSubstr("unknown flag --reason")));

  v1::ResetPasswordRequest reset;
  ASSERT_OK(ParseAccountReset({"wlp_admin"}, &reset));
  EXPECT_EQ(reset.username(), "wlp_admin");
  EXPECT_THAT(ParseAccountReset({}, &reset), StatusIs(kInvalid));
}

// ---------------------------------------------------------------------------------------------
// member verbs.

TEST(ParseTest, MemberAdd) {
  v1::AddMemberRequest req;
  ASSERT_OK(ParseMemberAdd({"--org",       "furong.wlp.abc",
                            "--name",      "张三",
                            "--id-number", "43010219900101123x",
                            "--gender",    "male",
                            "--ethnicity", "汉族",
                            "--phone",     "13800000000",
                            "--education", "junior_college",
                            "--workplace", "长沙某公司",
                            "--join-date", "2019-10-01",
                            "--card",      "C-001",
                            "--migrant",   "--dues",
                            "paid"},
                           &req));
  const v1::Member& m = req.member();
  EXPECT_EQ(m.org_id(), "furong.wlp.abc");
  EXPECT_EQ(m.name(), "张三");
  EXPECT_EQ(m.id_number(), "43010219900101123X");
  EXPECT_EQ(m.gender(), v1::MALE);
  EXPECT_EQ(m.ethnicity(), "汉族");
  EXPECT_EQ(m.phone(), "13800000000");
  EXPECT_EQ(m.education(), v1::JUNIOR_COLLEGE);
  EXPECT_EQ(m.workplace(), "长沙某公司");
  EXPECT_EQ(m.join_date(), "2019-10-01");
  EXPECT_EQ(m.card_number(), "C-001");
  EXPECT_TRUE(m.migrant_worker());
  EXPECT_EQ(m.dues_status(), v1::DUES_PAID);
  EXPECT_EQ(m.id(), "");

  ASSERT_OK(ParseMemberAdd(
      {"--name", "李四", "--id-number", "X", "--gender", "female"}, &req));
  EXPECT_EQ(req.member().org_id(), "");  // The caller's own organisation.
  EXPECT_EQ(req.member().gender(), v1::FEMALE);
  EXPECT_FALSE(req.member().migrant_worker());
  EXPECT_EQ(req.member().education(), v1::EDUCATION_UNSPECIFIED);
}

TEST(ParseTest, MemberAddBadInput) {
  v1::AddMemberRequest req;
  const Args base = {"--name", "张三", "--id-number", "X"};
  EXPECT_THAT(ParseMemberAdd(base, &req),
              StatusIs(kInvalid, HasSubstr("missing required flag --gender")));
  struct Case {
    Args extra;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--gender", "m"},
            "bad gender \"m\": expected one of male, female"},
           {{"--gender", "male", "--education", "college"}, "bad education"},
           {{"--gender", "male", "--dues", "free"},
            "bad dues status \"free\": expected one of paid, unpaid, exempt"},
           {{"--gender", "male", "--join-date", "2019-10-32"},
            "bad date for --join-date"},
           {{"--gender", "male", "--no-migrant"}, "unknown flag --no-migrant"},
           {{"--gender", "male", "--migrant=yes"}, "takes no value"},
           {{"--gender", "male", "extra"}, "unexpected argument"},
       }) {
    Args args = base;
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    EXPECT_THAT(ParseMemberAdd(args, &req),
                StatusIs(kInvalid, HasSubstr(c.message)))
        << c.message;
  }
}

TEST(ParseTest, MemberUpdateOverwritesOnlyGivenFields) {
  ASSERT_OK_AND_ASSIGN(
      MemberUpdate update,
      ParseMemberUpdate({"m-1", "--phone", "13900000000", "--dues", "exempt",
                         "--no-migrant", "--education", "master", "--workplace",
                         ""}));
  EXPECT_EQ(update.member_id, "m-1");
  EXPECT_THAT(update.edits,
              ElementsAre(Pair("phone", "13900000000"),
                          Pair("education", "master"), Pair("workplace", ""),
                          Pair("no-migrant", "true"), Pair("dues", "exempt")));
  v1::Member m;
  m.set_id("m-1");
  m.set_org_id("o");
  m.set_name("张三");
  m.set_phone("13800000000");
  m.set_workplace("old");
  m.set_migrant_worker(true);
  m.set_gender(v1::MALE);
  m.set_status(v1::MEMBER_ACTIVE);
  ASSERT_OK(ApplyMemberUpdate(update, &m));
  EXPECT_EQ(m.id(), "m-1");
  EXPECT_EQ(m.org_id(), "o");
  EXPECT_EQ(m.name(), "张三");
  EXPECT_EQ(m.gender(), v1::MALE);
  EXPECT_EQ(m.phone(), "13900000000");
  EXPECT_EQ(m.workplace(), "");
  EXPECT_FALSE(m.migrant_worker());
  EXPECT_EQ(m.education(), v1::MASTER);
  EXPECT_EQ(m.dues_status(), v1::DUES_EXEMPT);
  EXPECT_EQ(m.status(), v1::MEMBER_ACTIVE);
}

TEST(ParseTest, MemberUpdateBadInput) {
  EXPECT_THAT(ParseMemberUpdate({"m-1"}),
              StatusIs(kInvalid, HasSubstr("nothing to update")));
  EXPECT_THAT(ParseMemberUpdate({"--phone", "1"}),
              StatusIs(kInvalid, HasSubstr("missing argument MEMBER_ID")));
  EXPECT_THAT(ParseMemberUpdate({"m-1", "--migrant", "--no-migrant"}),
              StatusIs(kInvalid, HasSubstr("contradict")));
  EXPECT_THAT(ParseMemberUpdate({"m-1", "--org", "x"}),
              StatusIs(kInvalid, HasSubstr("unknown flag --org")));
  EXPECT_THAT(ParseMemberUpdate({"m-1", "--name", ""}),
              StatusIs(kInvalid, HasSubstr("--name must not be empty")));
  EXPECT_THAT(ParseMemberUpdate({"m-1", "--gender", "x"}),
              StatusIs(kInvalid, HasSubstr("bad gender")));
}

TEST(ParseTest, MemberTransferRemoveGet) {
  v1::TransferMemberRequest transfer;
  ASSERT_OK(ParseMemberTransfer({"m-1", "--to", "o2"}, &transfer));
  EXPECT_EQ(transfer.member_id(), "m-1");
  EXPECT_EQ(transfer.to_org_id(), "o2");
  EXPECT_THAT(ParseMemberTransfer({"m-1"}, &transfer),
              StatusIs(kInvalid, HasSubstr("missing required flag --to")));

  v1::RemoveMemberRequest remove;
  ASSERT_OK(ParseMemberRemove({"m-1", "--reason", "退休"}, &remove));
  EXPECT_EQ(remove.member_id(), "m-1");
  EXPECT_EQ(remove.reason(), "退休");

  v1::GetMemberRequest get;
  ASSERT_OK(ParseMemberGet({"m-1"}, &get));
  EXPECT_EQ(get.member_id(), "m-1");
  ASSERT_OK(ParseMemberGet({"--id-number", "43010219900101123x"}, &get));
  EXPECT_EQ(get.key_case(), v1::GetMemberRequest::kIdNumber);
  EXPECT_EQ(get.id_number(), "43010219900101123X");
  EXPECT_THAT(ParseMemberGet({}, &get),
              StatusIs(kInvalid, HasSubstr("exactly one")));
  EXPECT_THAT(ParseMemberGet({"m-1", "--id-number", "X"}, &get),
              StatusIs(kInvalid, HasSubstr("exactly one")));
}

TEST(ParseTest, MemberList) {
  v1::ListMembersRequest req;
  Paging paging;
  ASSERT_OK(ParseMemberList({"o"}, &req, &paging));
  EXPECT_EQ(req.org_id(), "o");
  EXPECT_FALSE(req.migrant_only());
  EXPECT_FALSE(req.include_removed());
  EXPECT_EQ(req.dues_status(), v1::DUES_STATUS_UNSPECIFIED);
  ASSERT_OK(ParseMemberList(
      {"o", "--name-prefix", "张", "--migrant-only", "--dues", "unpaid",
       "--include-removed", "--page-size", "1000", "--all"},
      &req, &paging));
  EXPECT_EQ(req.name_prefix(), "张");
  EXPECT_TRUE(req.migrant_only());
  EXPECT_TRUE(req.include_removed());
  EXPECT_EQ(req.dues_status(), v1::DUES_UNPAID);
  EXPECT_EQ(req.page_size(), 1000);
  EXPECT_TRUE(paging.all);
  EXPECT_THAT(ParseMemberList({"o", "--dues", "some"}, &req, &paging),
              StatusIs(kInvalid, HasSubstr("bad dues status")));
  EXPECT_THAT(ParseMemberList({"--all"}, &req, &paging),
              StatusIs(kInvalid, HasSubstr("missing argument ORG")));
}

TEST(ParseTest, Summary) {
  v1::GetSubtreeSummaryRequest req;
  ASSERT_OK(ParseSummary({"furong"}, &req));
  EXPECT_EQ(req.org_id(), "furong");
  EXPECT_THAT(ParseSummary({}, &req), StatusIs(kInvalid));
  EXPECT_THAT(ParseSummary({"a", "--all"}, &req), StatusIs(kInvalid));
}

TEST(ParseTest, LinksAndResync) {
  v1::GetReplicationStatusRequest status;
  ASSERT_OK(ParseLinks({}, &status));
  EXPECT_THAT(ParseLinks({"d1"}, &status),
              StatusIs(kInvalid, HasSubstr("unexpected argument \"d1\"")));
  EXPECT_THAT(ParseLinks({"--all"}, &status),
              StatusIs(kInvalid, HasSubstr("unknown flag --all")));

  v1::ForceResyncRequest resync;
  ASSERT_OK(ParseResync({"430102"}, &resync));
  EXPECT_EQ(resync.child_id(), "430102");
  EXPECT_THAT(ParseResync({}, &resync),
              StatusIs(kInvalid, HasSubstr("missing argument CHILD_ID")));
  EXPECT_THAT(ParseResync({""}, &resync),
              StatusIs(kInvalid, HasSubstr("must not be empty")));
  EXPECT_THAT(ParseResync({"a", "b"}, &resync),
              StatusIs(kInvalid, HasSubstr("unexpected argument \"b\"")));
}

TEST(HelpTest, LinksExplainsTheColumnsAndDirections) {
  std::string help = HelpText("links");
  EXPECT_THAT(help, StartsWith("Usage: unionctl [global options] links\n"));
  EXPECT_THAT(help, HasSubstr("上级: the parent node (this node's uplink)"));
  EXPECT_THAT(help, HasSubstr("下级: a child node"));
  for (const char* column :
       {"LAG POS", "LAST ACK", "INFLIGHT", "APPLIED/DUP/REJ", "DIGEST",
        "LAST AGREE", "REPAIRS", "SESSIONS"}) {
    EXPECT_THAT(help, HasSubstr(absl::StrCat("  ", column, " "))) << column;
  }
  EXPECT_THAT(HelpText("resync"),
              StartsWith("Usage: unionctl [global options] resync CHILD_ID\n"));
  EXPECT_THAT(HelpText("resync"), HasSubstr("Duplicates are dropped"));
}

TEST(EnumsTest, NamesRoundTrip) {
  for (int k = 1; k <= 10; ++k) {
    auto kind = static_cast<v1::OrgKind>(k);
    ASSERT_OK_AND_ASSIGN(v1::OrgKind parsed, ParseOrgKind(OrgKindName(kind)));
    EXPECT_EQ(parsed, kind);
    EXPECT_NE(OrgKindChinese(kind), "");
  }
  EXPECT_EQ(OrgKindName(v1::DISTRICT_FEDERATION), "district_federation");
  EXPECT_EQ(OrgKindChinese(v1::VILLAGE_JOINT), "村（社区）联合工会");
  EXPECT_THAT(ParseOrgKind("org_kind_unspecified"), StatusIs(kInvalid));
  for (int e = 1; e <= 7; ++e) {
    auto edu = static_cast<v1::Education>(e);
    ASSERT_OK_AND_ASSIGN(v1::Education parsed,
                         ParseEducation(EducationName(edu)));
    EXPECT_EQ(parsed, edu);
  }
  EXPECT_EQ(OrgKindName(static_cast<v1::OrgKind>(99)), "unknown(99)");
}

// ---------------------------------------------------------------------------------------------
// Session file.

TEST(SessionTest, WrittenWithMode0600AndReadBack) {
  TempDir dir;
  const std::string path = dir.path() + "/nested/.unionsync/session";
  Session s{"10.0.0.1:7400", "tok=en/+abc", "furong_admin", "furong",
            1577808000000};
  ASSERT_OK(WriteSessionFile(path, s));
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(dir.path() + "/nested/.unionsync"), 0700u);
  EXPECT_EQ(ModeOf(dir.path() + "/nested"), 0700u);
  EXPECT_FALSE(SessionFileTooOpen(path));
  ASSERT_OK_AND_ASSIGN(Session back, ReadSessionFile(path));
  EXPECT_EQ(back.server, s.server);
  EXPECT_EQ(back.token, s.token);
  EXPECT_EQ(back.username, s.username);
  EXPECT_EQ(back.org_id, s.org_id);
  EXPECT_EQ(back.expires_at_ms, s.expires_at_ms);
  EXPECT_THAT(ReadFile(path), HasSubstr("\ntoken=tok=en/+abc\n"));
  EXPECT_THAT(ReadFile(path), HasSubstr("\nserver=10.0.0.1:7400\n"));
}

TEST(SessionTest, OverwriteTightensAnExistingLooseFile) {
  TempDir dir;
  const std::string path = dir.path() + "/session";
  {
    std::ofstream(path)
        << "server=old\ntoken=old\nextra=garbage line kept out\n";
  }
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_TRUE(SessionFileTooOpen(path));
  ASSERT_OK(WriteSessionFile(path, {"s:1", "t", "", "", 0}));
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(ReadFile(path), Not(HasSubstr("old")));
  // An existing parent directory keeps its mode.
  EXPECT_EQ(ModeOf(dir.path()), 0700u);  // mkdtemp's mode.
}

TEST(SessionTest, RefusesToFollowASymlink) {
  TempDir dir;
  const std::string target = dir.path() + "/target";
  { std::ofstream(target) << "x"; }
  const std::string link = dir.path() + "/session";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  EXPECT_THAT(WriteSessionFile(link, {"s:1", "t", "", "", 0}),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(ReadFile(target), "x");
}

TEST(SessionTest, MissingFileMeansNotLoggedIn) {
  TempDir dir;
  EXPECT_THAT(ReadSessionFile(dir.path() + "/none"),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       "not logged in: run `unionctl login USER`"));
  EXPECT_OK(RemoveSessionFile(dir.path() + "/none"));
}

TEST(SessionTest, ParseAndSerialize) {
  ASSERT_OK_AND_ASSIGN(
      Session s, ParseSession("# c\r\n\nserver=a:1\r\ntoken=t\nfuture=x\n"));
  EXPECT_EQ(s.server, "a:1");
  EXPECT_EQ(s.token, "t");
  EXPECT_THAT(ParseSession("server=a:1\n"), StatusIs(kInvalid));
  EXPECT_THAT(ParseSession("token=t\n"), StatusIs(kInvalid));
  EXPECT_THAT(ParseSession("server=a\ntoken=t\nno equals\n"),
              StatusIs(kInvalid));
  EXPECT_THAT(ParseSession("server=a\ntoken=t\nexpires_at_ms=soon\n"),
              StatusIs(kInvalid));
  EXPECT_THAT(SerializeSession({"a", "t\nserver=evil", "", "", 0}),
              StatusIs(kInvalid));
}

// ---------------------------------------------------------------------------------------------
// Output.

TEST(FormatTest, JsonUsesProtoFieldNamesOnOneLine) {
  v1::WhoAmIResponse r;
  r.set_username("furong_admin");
  r.set_org_id("furong");
  r.set_role(v1::DATA_ADMIN);
  r.set_expires_at_ms(1577808000000);
  std::string json = FormatJson(r);
  EXPECT_EQ(json,
            "{\"username\":\"furong_admin\",\"org_id\":\"furong\",\"role\":"
            "\"DATA_ADMIN\",\"must_change_password\":false,\"node_id\":\"\","
            "\"expires_at_ms\":\"1577808000000\"}\n");

  v1::ListChildOrgsResponse list;
  list.add_orgs()->set_name("五里牌");
  EXPECT_THAT(FormatJson(list), HasSubstr("\"orgs\":[{"));
  EXPECT_THAT(FormatJson(list), HasSubstr("\"next_page_token\":\"\""));
  EXPECT_THAT(FormatJson(list), HasSubstr("\"parent_id\":\"\""));
  EXPECT_THAT(FormatJson(list), HasSubstr("五里牌"));
}

TEST(FormatTest, ErrorShapes) {
  absl::Status denied =
      absl::PermissionDeniedError("not in \"your\" subtree\n");
  EXPECT_EQ(FormatErrorJson(denied),
            "{\"error\":{\"code\":\"PERMISSION_DENIED\",\"message\":\"not in "
            "\\\"your\\\" subtree\\n\"}}\n");
  EXPECT_EQ(FormatError(absl::PermissionDeniedError("nope"), true),
            "error: PERMISSION_DENIED: nope\n");
  EXPECT_EQ(FormatError(absl::InvalidArgumentError("bad"), false),
            "error: bad\n");
  EXPECT_EQ(JsonQuote(std::string("a\x01\\b", 4)), "\"a\\u0001\\\\b\"");
}

TEST(FormatTest, TablesAlignChinese) {
  std::string t = FormatTable(
      {{"ID", "NAME", "N"}, {"a", "会员", "5"}, {"bbb", "x", "12"}}, {2});
  EXPECT_EQ(t,
            "ID   NAME   N\n"
            "a    会员   5\n"
            "bbb  x     12\n");
}

TEST(FormatTest, SmallHelpers) {
  EXPECT_EQ(FormatTimeMs(0), "-");
  EXPECT_EQ(FormatTimeMs(1577808000000), "2020-01-01 00:00:00");  // 16:00 UTC.
  EXPECT_EQ(MaskIdNumber("43010219900101123X"), "430102********123X");
  EXPECT_EQ(MaskIdNumber("123"), "***");
  EXPECT_THAT(FormatMorePages("abc"), HasSubstr("--page-token abc"));
}

TEST(FormatTest, Summary) {
  v1::GetSubtreeSummaryResponse r;
  r.mutable_org()->set_id("furong");
  r.mutable_org()->set_name("芙蓉区总工会");
  auto* c = r.mutable_counters();
  c->set_orgs(200);
  c->set_grassroots_orgs(150);
  c->set_profile_complete(50);
  c->set_activated_orgs(100);
  c->set_members(12000);
  c->set_migrant_members(3000);
  c->set_accounts(210);
  r.set_direct_children(12);
  std::string s = FormatSummary(r);
  EXPECT_EQ(s,
            "芙蓉区总工会 (furong) 及下属组织汇总\n"
            "组织数          200\n"
            "基层工会数      150\n"
            "资料完整         50  25.0%\n"
            "已激活          100  50.0%\n"
            "会员数        12000\n"
            "农民工会员     3000  25.0%\n"
            "账号数          210\n"
            "直属下级组织     12\n");
}

TEST(FormatTest, Durations) {
  EXPECT_EQ(FormatDuration(-5), "0s");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59), "59s");
  EXPECT_EQ(FormatDuration(60), "1m00s");
  EXPECT_EQ(FormatDuration(725), "12m05s");
  EXPECT_EQ(FormatDuration(3600 * 3 + 7 * 60 + 59), "3h07m");
  EXPECT_EQ(FormatDuration(86400 * 2 + 3600 * 4 + 1), "2d04h");
}

// A tier-2 node with its uplink and two child nodes, one of them lagging with
// rejected changes and a differing digest.
v1::GetReplicationStatusResponse SampleStatus(int64_t now_ms) {
  v1::GetReplicationStatusResponse r;
  r.set_node_id("430102");
  r.set_incarnation("9f2c");
  r.set_log_end(120345);
  r.set_refused_streams(2);
  v1::LinkStatus* up = r.add_links();
  up->set_peer("430100");
  up->set_direction("parent");
  up->set_state("streaming");
  up->set_last_ack_ms(now_ms - 1500);
  up->set_applied_changes(12);
  up->set_digest("agree");
  up->set_last_agree_ms(now_ms - 42000);
  up->set_sessions(1);
  v1::LinkStatus* child = r.add_links();
  child->set_peer("430102.wlp");
  child->set_direction("child");
  child->set_state("streaming");
  child->set_lag_positions(4000);
  child->set_lag_seconds(75);
  child->set_last_ack_ms(now_ms - 3 * 3600 * 1000);
  child->set_inflight_batches(4);
  child->set_applied_changes(250000);
  child->set_duplicate_changes(17);
  child->set_rejected_changes(3);
  child->set_digest("differ");
  child->set_repairs(2);
  child->set_sessions(5);
  child->set_audit_alarms(1);
  child->set_audit_alarm("chain head went back from 812 to 790");
  child->set_audit_alarm_ms(now_ms - 600 * 1000);
  v1::LinkStatus* idle = r.add_links();
  idle->set_peer("430102.dyl");
  idle->set_direction("child");
  idle->set_state("closed");
  idle->set_digest("unknown");
  return r;
}

TEST(FormatTest, Links) {
  const int64_t now = 1577808000000;
  EXPECT_EQ(
      FormatLinks(SampleStatus(now), now),
      "node:             430102\n"
      "incarnation:      9f2c\n"
      "log end:          120345\n"
      "refused streams:  2\n"
      "\n"
      "PEER        DIR   STATE      LAG POS    LAG  LAST ACK   INFLIGHT  "
      "APPLIED/DUP/REJ  DIGEST   LAST AGREE  REPAIRS  SESSIONS\n"
      "430100      上级  streaming        0     0s  1s ago            0  "
      "         12/0/0  agree    42s ago           0         1\n"
      "430102.wlp  下级  streaming     4000  1m15s  3h00m ago         4  "
      "    250000/17/3  differ   -                 2         5\n"
      "430102.dyl  下级  closed           0     0s  -                 0  "
      "          0/0/0  unknown  -                 0         0\n"
      "ALARM: 430102.wlp: its audit log went back or was rewritten (1 "
      "time(s), last 10m00s ago): chain head went back from 812 to 790; check "
      "it with `unionctl audit verify` at that node\n"
      "note: 430102.wlp: changes rejected as outside the peer's scope (each "
      "one is audited: ReplicationReject)\n"
      "note: 430102.wlp: digests differ; a repair runs on its own (`unionctl "
      "resync CHILD_ID` resends a child's log)\n");

  v1::GetReplicationStatusResponse none;
  none.set_node_id("430100");
  EXPECT_THAT(FormatLinks(none, now), AllOf(HasSubstr("refused streams:  0\n"),
                                            HasSubstr("no replication links")));
}

TEST(FormatTest, InitialPasswordsComeWithAWarning) {
  v1::CreateChildOrgResponse r;
  r.mutable_org()->set_id("furong.wlp");
  r.mutable_org()->set_kind(v1::TOWNSHIP_FEDERATION);
  r.set_admin_username("wlp_admin");
  r.set_initial_password("Qx7#kP2m9Lw");
  std::string s = FormatCreatedOrg(r);
  EXPECT_THAT(s, HasSubstr("created organisation:  furong.wlp\n"));
  EXPECT_THAT(s, HasSubstr("data administrator:    wlp_admin\n"));
  EXPECT_THAT(s, HasSubstr("initial password:      Qx7#kP2m9Lw\n"));
  EXPECT_THAT(s, HasSubstr("township_federation (乡镇（街道）工会联合会)"));
  EXPECT_THAT(s, HasSubstr("shown only this once"));

  v1::Account a;
  a.set_username("v1");
  a.set_state(v1::CREDENTIAL_RESET);
  EXPECT_THAT(
      FormatIssuedPassword(a, "pw"),
      AllOf(HasSubstr("initial password:  pw"), HasSubstr("reset (已重置)"),
            HasSubstr("shown only this once")));
}

TEST(FormatTest, MemberListMasksIdNumbers) {
  v1::Member m;
  m.set_id("m-1");
  m.set_name("张三");
  m.set_id_number("43010219900101123X");
  m.set_gender(v1::MALE);
  m.set_dues_status(v1::DUES_PAID);
  m.set_migrant_worker(true);
  std::string table = FormatMemberTable({m});
  EXPECT_THAT(table, HasSubstr("430102********123X"));
  EXPECT_THAT(table, Not(HasSubstr("43010219900101123X")));
  EXPECT_THAT(table, HasSubstr("1 member\n"));
  EXPECT_THAT(FormatMember(m),
              HasSubstr("id number:       43010219900101123X"));
  EXPECT_EQ(FormatMemberTable({}), "no members\n");
}

// ---------------------------------------------------------------------------------------------
// Whole runs against an in-process fake AdminService.

class FakeAdmin final : public v1::AdminService::Service {
 public:
  grpc::Status Login(grpc::ServerContext* ctx, const v1::LoginRequest* req,
                     v1::LoginResponse* resp) override {
    Record(ctx, "Login");
    if (req->password() != "Secret-pass1") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "wrong username or password");
    }
    resp->set_token("tok-" + req->username());
    resp->set_org_id("furong");
    resp->set_role(v1::DATA_ADMIN);
    resp->set_must_change_password(req->username() == "newbie");
    resp->set_expires_at_ms(1577808000000);
    return grpc::Status::OK;
  }
  grpc::Status Logout(grpc::ServerContext* ctx, const v1::LogoutRequest*,
                      v1::LogoutResponse*) override {
    return Authorized(ctx, "Logout");
  }
  grpc::Status ChangePassword(grpc::ServerContext* ctx,
                              const v1::ChangePasswordRequest* req,
                              v1::ChangePasswordResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_passwords_ = {req->old_password(), req->new_password()};
    return AuthorizedLocked(ctx, "ChangePassword");
  }
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const v1::WhoAmIRequest*,
                      v1::WhoAmIResponse* resp) override {
    grpc::Status s = Authorized(ctx, "WhoAmI");
    resp->set_username("furong_admin");
    resp->set_org_id("furong");
    resp->set_role(v1::DATA_ADMIN);
    resp->set_node_id("node-furong");
    return s;
  }
  grpc::Status GetOrg(grpc::ServerContext* ctx, const v1::GetOrgRequest* req,
                      v1::GetOrgResponse* resp) override {
    grpc::Status s = Authorized(ctx, "GetOrg");
    if (!s.ok()) return s;
    if (req->org_id() == "tianxin") {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "tianxin is outside your subtree");
    }
    if (req->org_id() == "slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
    resp->mutable_org()->set_id(req->org_id());
    resp->mutable_org()->set_name("芙蓉区总工会");
    resp->mutable_org()->set_kind(v1::DISTRICT_FEDERATION);
    return grpc::Status::OK;
  }
  grpc::Status ListChildOrgs(grpc::ServerContext* ctx,
                             const v1::ListChildOrgsRequest* req,
                             v1::ListChildOrgsResponse* resp) override {
    grpc::Status s = Authorized(ctx, "ListChildOrgs");
    if (!s.ok()) return s;
    // Three pages: "" -> p2 -> p3 -> end.
    int page = req->page_token().empty()   ? 1
               : req->page_token() == "p2" ? 2
                                           : 3;
    v1::Org* o = resp->add_orgs();
    o->set_id(absl::StrCat("furong.c", page));
    o->set_name(absl::StrCat("街道", page));
    o->set_kind(v1::TOWNSHIP_FEDERATION);
    o->set_tier(3);
    if (page < 3) resp->set_next_page_token(absl::StrCat("p", page + 1));
    return grpc::Status::OK;
  }
  grpc::Status GetMember(grpc::ServerContext* ctx,
                         const v1::GetMemberRequest* req,
                         v1::GetMemberResponse* resp) override {
    grpc::Status s = Authorized(ctx, "GetMember");
    v1::Member* m = resp->mutable_member();
    m->set_id(req->member_id());
    m->set_org_id("furong.wlp.abc");
    m->set_name("张三");
    m->set_id_number("43010219900101123X");
    m->set_gender(v1::MALE);
    m->set_phone("13800000000");
    m->set_dues_status(v1::DUES_UNPAID);
    m->set_status(v1::MEMBER_ACTIVE);
    return s;
  }
  grpc::Status UpdateMember(grpc::ServerContext* ctx,
                            const v1::UpdateMemberRequest* req,
                            v1::UpdateMemberResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    updated_ = req->member();
    *resp->mutable_member() = req->member();
    return AuthorizedLocked(ctx, "UpdateMember");
  }

  grpc::Status GetReplicationStatus(
      grpc::ServerContext* ctx, const v1::GetReplicationStatusRequest*,
      v1::GetReplicationStatusResponse* resp) override {
    grpc::Status s = Authorized(ctx, "GetReplicationStatus");
    if (!s.ok()) return s;
    *resp = SampleStatus(kNowMs);
    return grpc::Status::OK;
  }
  grpc::Status ForceResync(grpc::ServerContext* ctx,
                           const v1::ForceResyncRequest* req,
                           v1::ForceResyncResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    grpc::Status s = AuthorizedLocked(ctx, "ForceResync");
    if (!s.ok()) return s;
    resynced_.push_back(req->child_id());
    if (req->child_id() != "430102.wlp") {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat(req->child_id(), " is not a child node of 430102"));
    }
    return grpc::Status::OK;
  }

  // The time the fake's link ages are relative to.
  static constexpr int64_t kNowMs = 1577808000000;

  std::vector<std::string> resynced() {
    std::lock_guard<std::mutex> lock(mu_);
    return resynced_;
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::string last_authorization() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_authorization_;
  }
  std::pair<std::string, std::string> last_passwords() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_passwords_;
  }
  v1::Member updated() {
    std::lock_guard<std::mutex> lock(mu_);
    return updated_;
  }

 private:
  void Record(grpc::ServerContext* ctx, const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    RecordLocked(ctx, method);
  }
  void RecordLocked(grpc::ServerContext* ctx, const std::string& method) {
    calls_.push_back(method);
    auto it = ctx->client_metadata().find("authorization");
    last_authorization_ =
        it == ctx->client_metadata().end()
            ? ""
            : std::string(it->second.data(), it->second.size());
  }
  grpc::Status Authorized(grpc::ServerContext* ctx, const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    return AuthorizedLocked(ctx, method);
  }
  grpc::Status AuthorizedLocked(grpc::ServerContext* ctx,
                                const std::string& method) {
    RecordLocked(ctx, method);
    if (last_authorization_ != "Bearer tok-furong_admin") {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "no valid session");
    }
    return grpc::Status::OK;
  }

  std::mutex mu_;
  std::vector<std::string> calls_;
  std::string last_authorization_;
  std::pair<std::string, std::string> last_passwords_;
  v1::Member updated_;
  std::vector<std::string> resynced_;
};

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    session_ = dir_.path() + "/home/.unionsync/session";
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  struct Result {
    int code;
    std::string out;
    std::string err;
  };

  // Runs unionctl with the session under the temporary HOME; `global` go before
  // `argv`.
  Result Run(const Args& argv, const std::string& stdin_text = "",
             const Args& global = {}) {
    Args full = global;
    full.insert(full.end(), argv.begin(), argv.end());
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    Io io{&in,   &out,    &err,
          false, nullptr, [] { return FakeAdmin::kNowMs + 1000; }};
    Environment env{absl::StrCat("127.0.0.1:", port_), "",
                    dir_.path() + "/home", "", /*insecure_plaintext=*/true};
    int code = RunUnionctl(full, env, io);
    return {code, out.str(), err.str()};
  }

  void LogIn() {
    Result r =
        Run({"login", "furong_admin", "--password-stdin"}, "Secret-pass1\n");
    ASSERT_EQ(r.code, kExitOk) << r.err;
  }

  TempDir dir_;
  FakeAdmin service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string session_;
};

TEST_F(RunTest, LoginWritesAPrivateSessionFile) {
  Result r =
      Run({"login", "furong_admin", "--password-stdin"}, "Secret-pass1\n");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("logged in as:          furong_admin\n"));
  EXPECT_THAT(r.out, HasSubstr("must change password:  no\n"));
  EXPECT_THAT(r.out, HasSubstr(session_));
  EXPECT_EQ(ModeOf(session_), 0600u);
  EXPECT_EQ(ModeOf(dir_.path() + "/home/.unionsync"), 0700u);
  ASSERT_OK_AND_ASSIGN(Session s, ReadSessionFile(session_));
  EXPECT_EQ(s.token, "tok-furong_admin");
  EXPECT_EQ(s.server, absl::StrCat("127.0.0.1:", port_));
  EXPECT_EQ(s.username, "furong_admin");
  EXPECT_EQ(s.org_id, "furong");
  // Login itself carries no token.
  EXPECT_EQ(service_.last_authorization(), "");
}

TEST_F(RunTest, LoginSaysWhenThePasswordMustChange) {
  Result r = Run({"login", "newbie", "--password-stdin"}, "Secret-pass1\r\n");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("must change password:  yes\n"));
  EXPECT_THAT(r.out, HasSubstr("unionctl passwd"));
}

TEST_F(RunTest, LoginJsonHidesTheToken) {
  Result r = Run({"login", "furong_admin", "--password-stdin"},
                 "Secret-pass1\n", {"--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"token\":\"\",\"org_id\":\"furong\""));
  EXPECT_THAT(r.out, Not(HasSubstr("tok-")));
}

TEST_F(RunTest, LoginFailures) {
  Result r = Run({"login", "furong_admin", "--password-stdin"}, "wrong\n");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "error: UNAUTHENTICATED: wrong username or password\n");
  EXPECT_THAT(ReadSessionFile(session_),
              StatusIs(absl::StatusCode::kUnauthenticated));

  // No terminal and no --password-stdin: a usage error, and nothing is sent.
  r = Run({"login", "furong_admin"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--password-stdin"));
  r = Run({"login", "furong_admin", "--password-stdin"}, "");
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(service_.calls(), ElementsAre("Login"));
}

TEST_F(RunTest, LoginPromptsOnATerminal) {
  std::istringstream in;
  std::ostringstream out, err;
  std::vector<std::string> prompts;
  Io io{&in,
        &out,
        &err,
        true,
        [&](const std::string& prompt) {
          prompts.push_back(prompt);
          return absl::StatusOr<std::string>("Secret-pass1");
        },
        nullptr};
  Environment env{absl::StrCat("127.0.0.1:", port_), "", dir_.path() + "/home",
                  "", /*insecure_plaintext=*/true};
  ASSERT_EQ(RunUnionctl({"login", "furong_admin"}, env, io), kExitOk)
      << err.str();
  EXPECT_THAT(prompts, ElementsAre("Password for furong_admin: "));
}

TEST_F(RunTest, NotLoggedIn) {
  Result r = Run({"whoami"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "error: not logged in: run `unionctl login USER`\n");
  EXPECT_THAT(service_.calls(), IsEmpty());
  r = Run({"whoami"}, "", {"--json"});
  EXPECT_EQ(
      r.err,
      "{\"error\":{\"code\":\"UNAUTHENTICATED\",\"message\":\"not logged in: "
      "run `unionctl login USER`\"}}\n");
}

TEST_F(RunTest, CallsCarryTheBearerToken) {
  LogIn();
  Result r = Run({"whoami"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(service_.last_authorization(), "Bearer tok-furong_admin");
  EXPECT_THAT(r.out, HasSubstr("username:              furong_admin\n"));
  EXPECT_THAT(r.out, HasSubstr("role:                  admin (信息管理员)\n"));
  EXPECT_THAT(r.out, HasSubstr("node:                  node-furong\n"));

  r = Run({"whoami"}, "", {"--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"username\":\"furong_admin\""));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
}

TEST_F(RunTest, SessionServerIsUsedUnlessOneIsGiven) {
  LogIn();
  // No --server and no $UNIONSYNC_SERVER: the session's server.
  std::istringstream in;
  std::ostringstream out, err;
  Io io{&in, &out, &err, false, nullptr, nullptr};
  EXPECT_EQ(RunUnionctl({"whoami"}, {"", "", dir_.path() + "/home"}, io),
            kExitOk)
      << err.str();
  // An explicit server wins (and nothing listens on port 1).
  Result r = Run({"whoami"}, "", {"--server", "127.0.0.1:1", "--timeout", "5"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE: "));
  EXPECT_THAT(r.err, HasSubstr("hint: is a node serving at 127.0.0.1:1?"));
}

TEST_F(RunTest, ServerErrorsPrintCodeAndExitOne) {
  LogIn();
  Result r = Run({"org", "get", "tianxin"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "error: PERMISSION_DENIED: tianxin is outside your subtree\n");
  r = Run({"org", "get", "tianxin"}, "", {"--json"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(
      r.err,
      "{\"error\":{\"code\":\"PERMISSION_DENIED\",\"message\":\"tianxin is "
      "outside your subtree\"}}\n");
}

TEST_F(RunTest, TimeoutIsADeadline) {
  LogIn();
  Result r = Run({"org", "get", "slow"}, "", {"--timeout", "0.2"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith("error: DEADLINE_EXCEEDED: "));
}

TEST_F(RunTest, UsageErrorsExitTwoBeforeAnyCall) {
  LogIn();
  Result r = Run({"org", "get"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err,
            "error: missing argument ID for `unionctl org get`\n"
            "run `unionctl org get --help` for usage\n");
  r = Run({"member", "list", "o", "--page-size", "0"}, "", {"--json"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("{\"error\":{\"code\":\"INVALID_ARGUMENT\""));
  r = Run({"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown verb \"frobnicate\""));
  r = Run({"bogus"}, "", {"--server", "h:1", "--json"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("{\"error\":{\"code\":\"INVALID_ARGUMENT\""));
  EXPECT_THAT(service_.calls(), ElementsAre("Login"));
}

TEST_F(RunTest, OrgChildrenFollowsPageTokensWithAll) {
  LogIn();
  Result r = Run({"org", "children", "furong", "--all"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("furong.c1"));
  EXPECT_THAT(r.out, HasSubstr("furong.c3"));
  EXPECT_THAT(r.out, HasSubstr("3 organisations\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("more results")));

  r = Run({"org", "children", "furong", "--all"}, "", {"--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);  // One JSON object per response.
  EXPECT_THAT(lines[0], HasSubstr("\"next_page_token\":\"p2\""));
  EXPECT_THAT(lines[2], HasSubstr("\"next_page_token\":\"\""));

  r = Run({"org", "children", "furong"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 organisation\n"));
  EXPECT_THAT(
      r.out,
      HasSubstr("more results: rerun with --all, or with --page-token p2"));
}

TEST_F(RunTest, MemberUpdateFetchesThenOverwritesGivenFields) {
  LogIn();
  Result r = Run(
      {"member", "update", "m-7", "--phone", "13900000000", "--dues", "paid"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(service_.calls(),
              ElementsAre("Login", "GetMember", "UpdateMember"));
  v1::Member m = service_.updated();
  EXPECT_EQ(m.id(), "m-7");
  EXPECT_EQ(m.name(), "张三");
  EXPECT_EQ(m.id_number(), "43010219900101123X");
  EXPECT_EQ(m.org_id(), "furong.wlp.abc");
  EXPECT_EQ(m.phone(), "13900000000");
  EXPECT_EQ(m.dues_status(), v1::DUES_PAID);
  EXPECT_THAT(r.out, HasSubstr("member updated\n"));
}

TEST_F(RunTest, PasswdReadsTwoLines) {
  LogIn();
  Result r =
      Run({"passwd", "--password-stdin"}, "Secret-pass1\nNew-Secret-2\n");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(
      service_.last_passwords(),
      std::make_pair(std::string("Secret-pass1"), std::string("New-Secret-2")));
  r = Run({"passwd", "--password-stdin"}, "only-one\n");
  EXPECT_EQ(r.code, kExitUsage);
}

TEST_F(RunTest, LogoutRemovesTheSessionFile) {
  LogIn();
  Result r = Run({"logout"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "logged out\n");
  EXPECT_EQ(service_.last_authorization(), "Bearer tok-furong_admin");
  EXPECT_EQ(access(session_.c_str(), F_OK), -1);
  r = Run({"whoami"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("not logged in"));
}

TEST_F(RunTest, ExpiredSessionGetsAHint) {
  ASSERT_OK(WriteSessionFile(session_, {absl::StrCat("127.0.0.1:", port_),
                                        "stale", "furong_admin", "furong", 0}));
  Result r = Run({"whoami"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err,
            "error: UNAUTHENTICATED: no valid session\n"
            "hint: the session has ended or is not valid: run `unionctl login "
            "USER`\n");
  // Logging out of an ended session still removes the file.
  r = Run({"logout"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(access(session_.c_str(), F_OK), -1);
}

TEST_F(RunTest, LinksShowsOneRowPerLink) {
  LogIn();
  Result r = Run({"links"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(service_.calls(), ElementsAre("Login", "GetReplicationStatus"));
  EXPECT_EQ(service_.last_authorization(), "Bearer tok-furong_admin");
  EXPECT_THAT(r.out, StartsWith("node:             430102\n"));
  EXPECT_THAT(r.out, HasSubstr("refused streams:  2\n"));
  // Ages are relative to the client's clock (1 s after the fake's).
  EXPECT_THAT(r.out, HasSubstr("430100      上级  streaming        0     0s  "
                               "2s ago            0"));
  EXPECT_THAT(r.out, HasSubstr("430102.wlp  下级  streaming     4000  1m15s"));
  EXPECT_THAT(r.out, HasSubstr("note: 430102.wlp: changes rejected"));

  r = Run({"links"}, "", {"--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  EXPECT_THAT(r.out, StartsWith("{\"node_id\":\"430102\",\"incarnation\":"
                                "\"9f2c\",\"log_end\":\"120345\",\"links\":[{"
                                "\"peer\":\"430100\",\"direction\":"
                                "\"parent\""));
  EXPECT_THAT(r.out, HasSubstr("\"rejected_changes\":\"3\""));
  EXPECT_THAT(r.out, HasSubstr("\"refused_streams\":\"2\"}"));
}

TEST_F(RunTest, LinksNeedsASession) {
  Result r = Run({"links"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("not logged in"));
  EXPECT_THAT(service_.calls(), IsEmpty());
}

TEST_F(RunTest, ResyncAsksForTheChild) {
  LogIn();
  Result r = Run({"resync", "430102.wlp"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(service_.resynced(), ElementsAre("430102.wlp"));
  EXPECT_THAT(r.out, StartsWith("resync of 430102.wlp started"));
  EXPECT_THAT(r.out, HasSubstr("unionctl links"));

  r = Run({"resync", "430102.wlp"}, "", {"--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "{}\n");

  r = Run({"resync", "430103"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "error: NOT_FOUND: 430103 is not a child node of 430102\n");
  r = Run({"resync", "430103"}, "", {"--json"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err,
            "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"430103 is not "
            "a child node of 430102\"}}\n");

  // Usage errors exit 2 before any call.
  r = Run({"resync"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err,
            "error: missing argument CHILD_ID for `unionctl resync`\n"
            "run `unionctl resync --help` for usage\n");
  r = Run({"resync", "--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("Forgets this node's checkpoint"));
  EXPECT_THAT(service_.resynced(),
              ElementsAre("430102.wlp", "430102.wlp", "430103", "430103"));
}

}  // namespace
}  // namespace unionsync::cli
