// The Debian packages (packaging/): built with CPack from this build tree,
// their contents and metadata checked with dpkg-deb, then unpacked into a
// temporary root where the first-run helper configures a node and the node
// is started the way its systemd unit starts it (ExecStart with the
// configuration file; systemd's own sandbox is not available in a test), and
// installed with apt into a clean Debian root made from Debian's archive.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "testing/shell.h"

namespace unionsync {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::ShellQuote;

std::pair<int, std::string> Sh(const std::string& cmd) {
  return ::unionsync::testing::RunShell(cmd);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/unionsync_package_test_XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    // CPack from the build tree (the binaries the other tests ran).
    auto [rc, out] = Sh(absl::StrCat(
        "cd ", ShellQuote(*dir_), " && cpack --config ",
        ShellQuote(UNIONSYNC_BUILD_DIR "/CPackConfig.cmake"), " -B debs"));
    cpack_rc_ = rc;
    *(cpack_out_ = new std::string) = out;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete cpack_out_;
  }
  void SetUp() override { ASSERT_EQ(cpack_rc_, 0) << *cpack_out_; }

  // The one .deb whose name starts with `package` + "_".
  static fs::path Deb(const std::string& package) {
    for (const auto& e : fs::directory_iterator(*dir_ + "/debs")) {
      const std::string name = e.path().filename().string();
      if (absl::StartsWith(name, package + "_") &&
          e.path().extension() == ".deb") {
        return e.path();
      }
    }
    return {};
  }
  static std::string Field(const fs::path& deb, const std::string& field) {
    auto [rc, out] =
        Sh(absl::StrCat("dpkg-deb -f ", ShellQuote(deb.string()), " ", field));
    EXPECT_EQ(rc, 0) << out;
    return std::string(absl::StripTrailingAsciiWhitespace(out));
  }

  static std::string* dir_;
  static std::string* cpack_out_;
  static int cpack_rc_;
};
std::string* PackageTest::dir_ = nullptr;
std::string* PackageTest::cpack_out_ = nullptr;
int PackageTest::cpack_rc_ = -1;

TEST_F(PackageTest, ThreePackagesWithTheirFilesAndDependencies) {
  for (const char* package :
       {"unionsync-node", "unionsync-hub", "unionsync-cli"}) {
    const fs::path deb = Deb(package);
    ASSERT_FALSE(deb.empty()) << package << " was not built:\n" << *cpack_out_;
    EXPECT_EQ(Field(deb, "Package"), package);
    EXPECT_EQ(Field(deb, "Architecture"), "amd64");
    // From dpkg-shlibdeps: Debian 12's shared libraries.
    const std::string depends = Field(deb, "Depends");
    EXPECT_THAT(depends, HasSubstr("librocksdb7.8")) << package;
    EXPECT_THAT(depends, HasSubstr("libgrpc++")) << package;
  }
  auto [rc, files] = Sh(
      absl::StrCat("dpkg-deb -c ", ShellQuote(Deb("unionsync-node").string())));
  ASSERT_EQ(rc, 0) << files;
  for (const char* f : {"./usr/bin/unionsync-node",
                        "./usr/lib/systemd/system/unionsync-node@.service",
                        "./usr/sbin/unionsync-setup",
                        "./usr/share/doc/unionsync-node/node.flags.example",
                        "./usr/share/doc/unionsync-node/OPERATIONS.md"}) {
    EXPECT_THAT(files, HasSubstr(f));
  }
  std::tie(rc, files) = Sh(
      absl::StrCat("dpkg-deb -c ", ShellQuote(Deb("unionsync-hub").string())));
  EXPECT_THAT(files,
              HasSubstr("./usr/lib/systemd/system/unionsync-hub@.service"));
  std::tie(rc, files) = Sh(
      absl::StrCat("dpkg-deb -c ", ShellQuote(Deb("unionsync-cli").string())));
  EXPECT_THAT(files, HasSubstr("./usr/bin/unionctl"));
  // The service account and directories are made by postinst.
  const std::string control = *dir_ + "/control";
  std::tie(rc, files) = Sh(absl::StrCat(
      "dpkg-deb -e ", ShellQuote(Deb("unionsync-node").string()), " ",
      ShellQuote(control), " && sh -n ", ShellQuote(control + "/postinst")));
  ASSERT_EQ(rc, 0) << files;
  const std::string postinst = ReadFile(control + "/postinst");
  EXPECT_THAT(postinst, HasSubstr("adduser --system --group"));
  EXPECT_THAT(postinst, HasSubstr("/var/backups/unionsync"));
}

TEST_F(PackageTest, TheUnitIsHardened) {
  const std::string root = *dir_ + "/unit-root";
  auto [rc, out] =
      Sh(absl::StrCat("dpkg-deb -x ", ShellQuote(Deb("unionsync-hub").string()),
                      " ", ShellQuote(root)));
  ASSERT_EQ(rc, 0) << out;
  const std::string unit =
      ReadFile(root + "/usr/lib/systemd/system/unionsync-hub@.service");
  for (const char* line :
       {"ExecStart=/usr/bin/unionsync-hub --flagfile=/etc/unionsync/%i.flags",
        "User=unionsync", "StateDirectory=unionsync", "ProtectSystem=strict",
        "NoNewPrivileges=yes", "ProtectHome=yes", "PrivateTmp=yes",
        "CapabilityBoundingSet=\n", "ReadWritePaths=/var/backups/unionsync"}) {
    EXPECT_THAT(unit, HasSubstr(line));
  }
  EXPECT_THAT(unit, Not(HasSubstr("@BINARY@")));
  // systemd's own assessment of the sandbox, offline against the unpacked
  // package: exposure at most 4.0 of 10 ("OK"; an unhardened service is
  // 9.6, "UNSAFE"). Exit status 1 above the threshold.
  std::tie(rc, out) = Sh(absl::StrCat(
      "systemd-analyze security --offline=true --threshold=40 --root=",
      ShellQuote(root), " unionsync-hub@430000.service 2>&1"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("Overall exposure level for "
                             "unionsync-hub@430000.service"))
      << out;
}

// Unpack node and cli, configure with unionsync-setup as an operator would,
// the city signs the request, and the unit's ExecStart starts the node.
TEST_F(PackageTest, SetupThenTheUnitsCommandStartsANode) {
  const std::string root = *dir_ + "/root";
  for (const char* package : {"unionsync-node", "unionsync-cli"}) {
    auto [rc, out] =
        Sh(absl::StrCat("dpkg-deb -x ", ShellQuote(Deb(package).string()), " ",
                        ShellQuote(root)));
    ASSERT_EQ(rc, 0) << out;
  }
  const std::string etc = root + "/etc/unionsync";
  // What postinst makes (it also makes the service account: not here).
  for (const char* d :
       {"/var/lib/unionsync", "/var/backups/unionsync", "/etc/unionsync"}) {
    fs::create_directories(root + d);
  }
  const std::string env = absl::StrCat(
      "UNIONSYNC_ETC=", ShellQuote(etc),
      " UNIONSYNC_STATE=", ShellQuote(root + "/var/lib/unionsync"),
      " UNIONSYNC_BACKUPS=", ShellQuote(root + "/var/backups/unionsync"),
      " UNIONSYNC_GROUP=root UNIONSYNC_SAN=DNS:localhost,IP:127.0.0.1 ");
  auto [rc, out] =
      Sh(absl::StrCat(env, ShellQuote(root + "/usr/sbin/unionsync-setup"),
                      " 430102 430100 127.0.0.1:1"));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("systemctl enable --now unionsync-node@430102"));
  // Idempotent: a second run changes nothing.
  const std::string flags_before = ReadFile(etc + "/430102.flags");
  std::tie(rc, out) =
      Sh(absl::StrCat(env, ShellQuote(root + "/usr/sbin/unionsync-setup"),
                      " 430102 430100 127.0.0.1:1"));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, Not(HasSubstr("made the")));
  EXPECT_EQ(ReadFile(etc + "/430102.flags"), flags_before);
  std::tie(rc, out) = Sh(absl::StrCat(
      env, ShellQuote(root + "/usr/sbin/unionsync-setup"), " BAD/ID x y"));
  EXPECT_EQ(rc, 2) << out;

  // The city: its CA signs the request; the node's key file.
  const std::string city = *dir_ + "/city";
  std::tie(rc, out) = Sh(absl::StrCat(
      ShellQuote(UNIONSYNC_SOURCE_DIR "/certs/make-ca.sh"), " ",
      ShellQuote(city), " && openssl x509 -req -in ",
      ShellQuote(etc + "/430102.csr"), " -CA ", ShellQuote(city + "/ca.pem"),
      " -CAkey ", ShellQuote(city + "/ca.key"),
      " -days 30 -copy_extensions copy -out ", ShellQuote(etc + "/430102.pem"),
      " && cp ", ShellQuote(city + "/ca.pem"), " ", ShellQuote(etc + "/ca.pem"),
      " && ", ShellQuote(UNIONSYNC_SOURCE_DIR "/certs/make-node-keys.sh"), " ",
      ShellQuote(city), " 430102 && cp ", ShellQuote(city + "/430102.keys"),
      " ", ShellQuote(etc + "/430102.keys")));
  ASSERT_EQ(rc, 0) << out;

  // The unit's command line, with the root's paths; flags after the file
  // override it (loopback ports chosen by the kernel).
  const std::string unit =
      ReadFile(root + "/usr/lib/systemd/system/unionsync-node@.service");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(unit, m, std::regex("ExecStart=(.*)")));
  std::string exec = absl::StrReplaceAll(
      m[1].str(), {{"/usr/bin/", root + "/usr/bin/"},
                   {"/etc/unionsync/%i.flags", etc + "/430102.flags"}});
  const std::string port_file = *dir_ + "/port";
  exec = absl::StrCat(
      exec, " --listen=127.0.0.1:0 --web_listen=127.0.0.1:0",
      " --repl_listen=127.0.0.1:0 --port_file=", ShellQuote(port_file), " > ",
      ShellQuote(*dir_ + "/log"), " 2>&1");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + exec).c_str(), nullptr);
    _exit(127);
  }
  bool serving = false;
  for (int i = 0; i < 300 && !serving; ++i) {
    serving = fs::exists(port_file) && fs::file_size(port_file) > 0;
    if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int status;
    if (!serving && waitpid(pid, &status, WNOHANG) == pid) break;
  }
  const std::string log = ReadFile(*dir_ + "/log");
  ASSERT_TRUE(serving) << exec << "\n" << log;
  EXPECT_TRUE(fs::exists(root + "/var/lib/unionsync/430102/CURRENT"));
  // The JSON log the flags file asked for.
  EXPECT_THAT(log, HasSubstr("\"node\":\"430102\""));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << status << "\n"
      << ReadFile(*dir_ + "/log");

  // unionctl from its package answers.
  std::tie(rc, out) =
      Sh(ShellQuote(root + "/usr/bin/unionctl") + " backup --help");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("backup restore"));
}

// The packages installed with apt into a clean Debian 12 root made from
// Debian's archive (the dependencies resolved there, postinst run), the node
// configured and started there as the unit's user, then the packages removed
// (tests/packaging/install_in_root.sh and in_root.sh).
TEST_F(PackageTest, AptInstallsThemIntoACleanDebianRootAndTheServiceRuns) {
  // mmdebstrap mounts /proc and /dev into the root and bind-mounts the
  // packages: a machine (or container) without CAP_SYS_ADMIN cannot do
  // this test, and says so; the test above still runs the unpacked node.
  if (Sh("unshare --mount sh -c 'mount -t tmpfs tmpfs /mnt' 2>&1").first !=
      0) {
    GTEST_SKIP() << "this machine may not mount file systems (no "
                    "CAP_SYS_ADMIN): mmdebstrap cannot build a Debian root";
  }
  const std::string root = *dir_ + "/debian-root";
  auto [rc, out] = Sh(absl::StrCat(
      ShellQuote(UNIONSYNC_SOURCE_DIR "/tests/packaging/install_in_root.sh"),
      " ", ShellQuote(root), " ", ShellQuote(UNIONSYNC_SOURCE_DIR), " ",
      ShellQuote(Deb("unionsync-node").string()), " ",
      ShellQuote(Deb("unionsync-cli").string()), " 2>&1"));
  ASSERT_EQ(rc, 0) << out;
  for (const char* step :
       {"CHECK postinst made the account and the directories",
        "CHECK configured with unionsync-setup",
        "CHECK the unit's ExecStart started the node as unionsync: unionsync",
        "CHECK stopped cleanly on SIGTERM", "CHECK unionctl answers",
        "CHECK removed; the store and the keys stay"}) {
    EXPECT_THAT(out, HasSubstr(step)) << out;
  }
}

}  // namespace
}  // namespace unionsync
