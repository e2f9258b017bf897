// The whole story of the workbench at a multi-process tree, in headless
// Chromium over HTTPS: the city (the real unionsync-hub) registers a district
// that runs its own node and prints the slip; the district's node (the real
// unionsync-node, linked to the hub with mutual TLS) is started; its clerk
// logs in at the district's workbench with the slip, is made to change the
// password, and registers a street; the street's clerk registers a
// grassroots union; its clerk downloads the template, uploads 1,000 rows of
// which 3 are wrong, sees exactly those cells, fixes them and imports; the
// district's and the hub's progress pages show the 1,000 members within
// seconds. Screenshots to test-artifacts/story-*.png.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cluster/cluster.h"
#include "dashboard/webdriver.h"
#include "dashboard/workbench_page.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "ingest/template.h"
#include "ingest/test_files.h"
#include "ingest/writer.h"
#include "testing/status_matchers.h"

namespace unionsync::testing {

using namespace ::unionsync::cluster;  // NOLINT: the harness.

namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;  // NOLINT

constexpr char kHubBinary[] = UNIONSYNC_HUB_BINARY;
constexpr char kNodeBinary[] = UNIONSYNC_NODE_BINARY;
constexpr char kCertsScripts[] = UNIONSYNC_CERTS_DIR;
constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";
// Each clerk's own new password.
constexpr char kDistrictPw[] = "Furong-Qu-2019!";
constexpr char kStreetPw[] = "Dongan-Jie-2019!";
constexpr char kUnionPw[] = "Jixie-Chang-2019!";

class WorkbenchStoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status installed = CheckBrowserInstalled();
    ASSERT_TRUE(installed.ok()) << installed.message();
    std::string tmpl = ::testing::TempDir() + "/workbench_story.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_OK(
        MakeCertificates(kCertsScripts, dir_ + "/certs", {kCity, "430102"}));
    auto driver = ChromeDriver::Start(dir_);
    ASSERT_TRUE(driver.ok()) << driver.status();
    driver_ = *std::move(driver);
  }

  void TearDown() override {
    page_.reset();
    browser_.reset();
    driver_.reset();
    for (NodeProcess* n : {district_.get(), hub_.get()}) {
      if (n != nullptr) n->Kill9();
    }
    if (HasFailure()) {
      std::cout << "[story] files kept in " << dir_ << std::endl;
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  std::unique_ptr<NodeProcess> NewNode(const std::string& binary,
                                       const std::string& id) {
    NodeSpec spec;
    spec.binary = binary;
    spec.node_id = id;
    spec.dir = dir_ + "/" + id;
    spec.tls = TlsOf(dir_ + "/certs", id);
    spec.key_file = KeyFileOf(dir_ + "/certs", id);
    spec.extra_args = {"--web_listen=127.0.0.1:0",
                       "--web_port_file=" + spec.dir + "/web.port"};
    return std::make_unique<NodeProcess>(std::move(spec));
  }

  // The node's workbench address, once it serves.
  std::string WebUrl(NodeProcess& node) {
    int port = 0;
    const bool up = WaitUntil(
        [&] {
          std::string text = ReadFileOrEmpty(node.spec().dir + "/web.port");
          return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) &&
                 port > 0;
        },
        10s, 50ms);
    EXPECT_TRUE(up) << node.LogTail();
    return absl::StrCat("https://127.0.0.1:", port);
  }

  // A browser that accepts the two nodes' certificates (made by the test's
  // own CA, which Chromium does not know).
  void OpenBrowser() {
    BrowserOptions options;
    options.user_data_dir = dir_ + "/profile";
    // The clerks' old laptops (issue 11: 1366x768).
    options.width = 1366;
    options.height = 768;
    for (const char* org : {kCity, "430102"}) {
      auto spki = SpkiHash(TlsOf(dir_ + "/certs", org).cert_pem_path);
      ASSERT_TRUE(spki.ok()) << spki.status();
      options.trusted_spki.push_back(*spki);
    }
    auto session = WebDriverSession::Create(driver_->port(), options);
    ASSERT_TRUE(session.ok()) << session.status();
    browser_ = *std::move(session);
    page_ = std::make_unique<WorkbenchPage>(browser_.get(), "");
  }

  // Registers a child on the 下级组织 page and returns the slip's password.
  std::string RegisterChild(const std::string& id, const std::string& name,
                            const std::string& kind, const std::string& admin,
                            bool own_node, const std::string& screenshot,
                            const std::string& region = "") {
    std::string password;
    [&] {
      ASSERT_NO_FATAL_FAILURE(page_->Go("children"));
      ASSERT_NO_FATAL_FAILURE(page_->Click("#child-add-open"));
      ASSERT_NO_FATAL_FAILURE(page_->Retype("child-name", name));
      page_->Eval(
          absl::StrCat("document.getElementById('child-kind').value = '", kind,
                       "'; return '';"));
      ASSERT_NO_FATAL_FAILURE(page_->Retype("child-id", id));
      ASSERT_NO_FATAL_FAILURE(page_->Retype("child-admin", admin));
      ASSERT_NO_FATAL_FAILURE(page_->Retype("child-region", region));
      if (own_node) ASSERT_NO_FATAL_FAILURE(page_->Click("#child-own-node"));
      ASSERT_NO_FATAL_FAILURE(page_->Click("#child-submit"));
      ASSERT_NO_FATAL_FAILURE(page_->WaitFor(
          absl::StrCat("document.getElementById('slips').textContent.indexOf('",
                       admin,
                       "') >= 0 || document.getElementById("
                       "'child-error').textContent.length > 0"),
          "the slip or an error"));
      ASSERT_EQ(page_->TextOf("child-error"), "");
      password = page_->SlipPassword();
      ASSERT_FALSE(password.empty());
      if (!screenshot.empty()) {
        ASSERT_NO_FATAL_FAILURE(page_->Screenshot(screenshot));
      }
      ASSERT_NO_FATAL_FAILURE(page_->Click("#slip-close"));
    }();
    return password;
  }

  std::string dir_;
  std::unique_ptr<NodeProcess> hub_;
  std::unique_ptr<NodeProcess> district_;
  std::unique_ptr<ChromeDriver> driver_;
  std::unique_ptr<WebDriverSession> browser_;
  std::unique_ptr<WorkbenchPage> page_;
};

TEST_F(WorkbenchStoryTest, FromTheCityDownToAGrassrootsImportAndBackUp) {
  // The hub, its administrator activated as the operator hands it over.
  hub_ = NewNode(kHubBinary, kCity);
  hub_->spec().bootstrap_name = "长沙市总工会";
  ASSERT_OK(hub_->Start());
  ASSERT_OK_AND_ASSIGN(std::string bootstrap, BootstrapPassword(*hub_));
  const std::string hub_url = WebUrl(*hub_);
  ASSERT_NO_FATAL_FAILURE(OpenBrowser());

  // The city's clerk activates the account and registers 芙蓉区, which runs
  // its own node.
  page_->set_base_url(hub_url);
  ASSERT_NO_FATAL_FAILURE(page_->LogIn("admin", bootstrap, true));
  ASSERT_NO_FATAL_FAILURE(page_->ChangeInitialPassword(bootstrap, kStrong));
  const std::string district_initial = RegisterChild(
      "430102", "芙蓉区总工会", "DISTRICT_FEDERATION", "furong_admin",
      /*own_node=*/true, "story-city-slip.png", "430102");
  {
    // Registered at the hub as a child running its own node.
    AdminClient city(hub_->admin_port(), hub_->ca());
    v1::LoginResponse login;
    ASSERT_TRUE(city.Login("admin", kStrong, &login).ok());
    v1::GetOrgRequest req;
    req.set_org_id("430102");
    v1::GetOrgResponse org;
    grpc::Status s =
        city.Call(&AdminClient::Stub::GetOrg, login.token(), req, &org);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(org.org().host_node(), "430102");
    EXPECT_EQ(org.org().kind(), v1::DISTRICT_FEDERATION);
  }
  ASSERT_NO_FATAL_FAILURE(page_->LogOut());

  // The district's operator starts its node; its clerk's account arrives
  // from the hub.
  district_ = NewNode(kNodeBinary, "430102");
  district_->spec().extra_args.push_back("--log_format=json");
  district_->spec().parent_address = hub_->repl_address();
  district_->spec().parent_id = kCity;
  ASSERT_OK(district_->Start());
  const std::string district_url = WebUrl(*district_);
  AdminClient probe(district_->admin_port(), district_->ca());
  ASSERT_TRUE(WaitUntil(
      [&] {
        v1::LoginResponse r;
        return probe.Login("furong_admin", district_initial, &r).ok();
      },
      40s, 200ms))
      << district_->LogTail();

  // The district's clerk, at the district's workbench, with the slip.
  page_->set_base_url(district_url);
  ASSERT_NO_FATAL_FAILURE(page_->LogIn("furong_admin", district_initial, true));
  ASSERT_NO_FATAL_FAILURE(
      page_->ChangeInitialPassword(district_initial, kDistrictPw));
  ASSERT_NO_FATAL_FAILURE(page_->WaitText("unit-registration", "芙蓉区总工会"));
  const std::string street_initial =
      RegisterChild("430102.s1", "芙蓉区东岸街道工会联合会",
                    "TOWNSHIP_FEDERATION", "dongan_admin", false, "");
  ASSERT_NO_FATAL_FAILURE(page_->LogOut());

  // The street's clerk registers a grassroots union.
  ASSERT_NO_FATAL_FAILURE(page_->LogIn("dongan_admin", street_initial, true));
  ASSERT_NO_FATAL_FAILURE(
      page_->ChangeInitialPassword(street_initial, kStreetPw));
  const std::string union_initial =
      RegisterChild("430102.s1.g1", "长沙市东岸机械厂工会",
                    "INDEPENDENT_GRASSROOTS", "jixie_admin", false, "");
  ASSERT_NO_FATAL_FAILURE(page_->LogOut());

  // The grassroots clerk imports 1,000 members, 3 of them wrong at first.
  ASSERT_NO_FATAL_FAILURE(page_->LogIn("jixie_admin", union_initial, true));
  ASSERT_NO_FATAL_FAILURE(
      page_->ChangeInitialPassword(union_initial, kUnionPw));
  ASSERT_NO_FATAL_FAILURE(page_->Go("import"));
  const std::string tmpl = page_->Eval(
      "var x = new XMLHttpRequest(); x.open('POST', "
      "'/api/v1/IngestService.GetTemplate', false); x.setRequestHeader("
      "'Content-Type', 'application/json'); x.send('{\"kind\": "
      "\"TEMPLATE_MEMBER\", \"format\": \"FILE_FORMAT_CSV\"}'); return "
      "String(x.status);");
  EXPECT_EQ(tmpl, "200");
  std::vector<v1::Member> members = ingest::testing::Members(1000);
  const std::string bad = dir_ + "/会员-有错.csv";
  const std::string good = dir_ + "/会员.csv";
  ingest::testing::WriteBytes(
      bad, ingest::testing::MemberCsv(members, {2, 600, 998}));
  ingest::testing::WriteBytes(good, ingest::testing::MemberCsv(members, {}));
  ASSERT_NO_FATAL_FAILURE(page_->Type("#import-file", bad));
  ASSERT_NO_FATAL_FAILURE(page_->Click("#import-check"));
  ASSERT_NO_FATAL_FAILURE(page_->WaitFor(
      "!document.getElementById('import-result').hidden", "the check"));
  EXPECT_EQ(
      page_->Eval("return Array.from(document.querySelectorAll('#import-errors "
                  "tr')).map(function (r) { return r.children[0].textContent + "
                  "':' + r.children[1].textContent; }).join(',');"),
      "4:公民身份号码,602:公民身份号码,1000:公民身份号码");
  ASSERT_NO_FATAL_FAILURE(page_->Screenshot("story-import-check.png"));
  page_->Eval("document.getElementById('import-file').value = ''; return '';");
  ASSERT_NO_FATAL_FAILURE(page_->Type("#import-file", good));
  ASSERT_NO_FATAL_FAILURE(page_->Click("#import-run"));
  ASSERT_NO_FATAL_FAILURE(page_->WaitFor(
      "document.getElementById('import-message').className.indexOf("
      "'text-success') >= 0",
      "the import"));
  ASSERT_NO_FATAL_FAILURE(page_->LogOut());

  // Within seconds: the district's progress, then the hub's.
  ASSERT_NO_FATAL_FAILURE(page_->LogIn("furong_admin", kDistrictPw));
  ASSERT_NO_FATAL_FAILURE(page_->Go("progress"));
  ASSERT_NO_FATAL_FAILURE(page_->WaitText("progress-members", "1,000 人"));
  ASSERT_NO_FATAL_FAILURE(
      page_->WaitText("progress-rows", "芙蓉区东岸街道工会联合会"));
  ASSERT_NO_FATAL_FAILURE(page_->Screenshot("story-district-progress.png"));
  ASSERT_NO_FATAL_FAILURE(page_->LogOut());
  page_->set_base_url(hub_url);
  ASSERT_NO_FATAL_FAILURE(page_->LogIn("admin", kStrong));
  ASSERT_NO_FATAL_FAILURE(page_->Go("progress"));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitUntil(
      [&] {
        // Two clicks on the filter: the page reads the figures again.
        page_->Eval(
            "var b = document.getElementById('progress-behind'); "
            "b.click(); b.click(); return '';");
        return page_->TextOf("progress-members").find("1,000 人") !=
               std::string::npos;
      },
      60s, 1s))
      << "the hub's progress: " << page_->TextOf("progress-members");
  std::cout << "[story] the hub's page showed the 1,000 members "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             start)
                   .count()
            << " s after it was opened" << std::endl;
  EXPECT_THAT(page_->TextOf("progress-rows"), HasSubstr("芙蓉区总工会"));
  ASSERT_NO_FATAL_FAILURE(page_->Screenshot("story-hub-progress.png"));

  // Nothing personal in either node's log (common/log.h): none of the ID
  // numbers or phones entered (the wrong ones included), in either form.
  for (NodeProcess* node : {hub_.get(), district_.get()}) {
    const std::string log = node->Log();
    ASSERT_FALSE(log.empty());
    for (const v1::Member& m : members) {
      ASSERT_EQ(log.find(m.id_number()), std::string::npos)
          << node->id() << " logged " << m.id_number();
      ASSERT_EQ(log.find(m.id_number().substr(0, 17)), std::string::npos)
          << node->id() << " logged " << m.id_number();
      if (!m.phone().empty()) {
        ASSERT_EQ(log.find(m.phone()), std::string::npos)
            << node->id() << " logged " << m.phone();
      }
    }
  }
  // The district logs JSON, one object per line.
  int json_lines = 0;
  for (absl::string_view line : absl::StrSplit(district_->Log(), '\n')) {
    if (!absl::StartsWith(line, "{")) continue;
    google::protobuf::Struct entry;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &entry)
            .ok())
        << line;
    EXPECT_EQ(entry.fields().at("node").string_value(), "430102");
    ++json_lines;
  }
  EXPECT_GT(json_lines, 0) << district_->Log();
}

}  // namespace
}  // namespace unionsync::testing
