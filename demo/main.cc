// unionsync-demo: builds a synthetic Changsha union tree through the Admin
// API, as union staff would, on one running node or on a tree of nodes that
// replicate to the city hub, and prints the summary. Flags only; the work is
// in demo/driver.h; scripts/demo starts the processes.
//
//   unionsync-node --node_id=430100 --data_dir=/tmp/n --port_file=/tmp/n.port
//       --bootstrap_name=长沙市总工会 --scrypt_log2_n=12 >/tmp/n.log &
//   unionsync-demo --port_file=/tmp/n.port --admin_password_file=/tmp/n.log
//
// With nodes (each already started with its parent node as --parent_address):
//   unionsync-demo --port_file=hub.port --admin_password_file=hub.log
//       --nodes=430102=127.0.0.1:7401,430102.1=127.0.0.1:7402
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "demo/driver.h"
#include "tls/tls.h"

ABSL_FLAG(std::string, host, "127.0.0.1",
          "Host of the Admin API of the node hosting the city (the hub).");
ABSL_FLAG(int, port, 0, "Port of that Admin API.");
ABSL_FLAG(std::string, ca, "",
          "CA certificate the nodes' TLS certificates are checked against "
          "(empty: plaintext, for development nodes on loopback).");
ABSL_FLAG(std::string, port_file, "",
          "Read the port from this file (the node's --port_file) instead.");
ABSL_FLAG(std::vector<std::string>, nodes, {},
          "Organisations that run their own node, as ID=HOST:PORT (their "
          "Admin API), comma-separated: districts by region code (430102), "
          "townships as <district>.<n> (430102.1). Each must be running with "
          "its parent organisation's node as --parent_address.");
ABSL_FLAG(int, replication_deadline_seconds, 60,
          "How long a node may take to receive its registration, and the hub "
          "to hold everything after the last write.");
ABSL_FLAG(std::string, admin_user, "admin",
          "The city's data administrator (the node's --bootstrap_admin).");
ABSL_FLAG(std::string, admin_password, "",
          "Its current password: the initial one printed at bootstrap.");
ABSL_FLAG(std::string, admin_password_file, "",
          "Read the password from this file instead: its first line, or the "
          "word after 'initial password: ' (so the node's output will do).");
ABSL_FLAG(std::string, new_password_file, "",
          "Write the city administrator's new password to this file (mode "
          "0600) instead of printing it on stderr.");
ABSL_FLAG(int, districts, 9, "District federations to create (0..9).");
ABSL_FLAG(int, industries, 2, "Industry unions to create (0..9).");
ABSL_FLAG(int, townships, 2, "Township federations per district.");
ABSL_FLAG(int, grassroots, 3,
          "Grassroots unions per township and per industry union.");
ABSL_FLAG(int, members, 20, "Members per activated grassroots union.");
ABSL_FLAG(int, inactive_percent, 5,
          "Share of grassroots unions never activated.");
ABSL_FLAG(int, incomplete_percent, 10,
          "Share of grassroots unions that leave their profile incomplete.");
ABSL_FLAG(uint64_t, seed, 20190601, "Seed of all synthetic data.");
ABSL_FLAG(bool, json, false, "Print the summary as JSON instead of a table.");
ABSL_FLAG(bool, quiet, false, "No progress lines on stderr.");

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

absl::StatusOr<std::string> PasswordFromFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::string_view t = *text;
  constexpr absl::string_view kMarker = "initial password: ";
  if (size_t at = t.rfind(kMarker); at != absl::string_view::npos) {
    t.remove_prefix(at + kMarker.size());
    size_t end = 0;
    while (end < t.size() && !absl::ascii_isspace(t[end])) ++end;
    t = t.substr(0, end);
  } else {
    t = t.substr(0, t.find('\n'));
    t = absl::StripAsciiWhitespace(t);
  }
  if (t.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no password found in ", path));
  }
  return std::string(t);
}

absl::Status WriteSecret(const std::string& path, const std::string& secret) {
  const int fd =
      open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
           0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", path));
  const std::string line = secret + "\n";
  const bool ok =
      fchmod(fd, 0600) == 0 &&
      write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (close(fd) != 0 || !ok) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

int Run() {
  unionsync::DemoOptions options;
  int port = absl::GetFlag(FLAGS_port);
  if (const std::string f = absl::GetFlag(FLAGS_port_file); !f.empty()) {
    auto text = ReadFile(f);
    if (!text.ok() ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &port)) {
      std::cerr << "error: --port_file: no port number in " << f << "\n";
      return 2;
    }
  }
  if (port <= 0 || port > 65535) {
    std::cerr << "error: give the node's port with --port or --port_file\n";
    return 2;
  }
  options.target = absl::StrCat(absl::GetFlag(FLAGS_host), ":", port);
  if (const std::string ca = absl::GetFlag(FLAGS_ca); !ca.empty()) {
    auto creds = unionsync::MakeClientTlsCredentials(ca);
    if (!creds.ok()) {
      std::cerr << "error: --ca: " << creds.status() << "\n";
      return 2;
    }
    options.creds = *std::move(creds);
  }
  for (const std::string& node : absl::GetFlag(FLAGS_nodes)) {
    const size_t eq = node.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == node.size()) {
      std::cerr << "error: --nodes: want ID=HOST:PORT, got '" << node << "'\n";
      return 2;
    }
    options.nodes[node.substr(0, eq)] = node.substr(eq + 1);
  }
  options.replication_deadline =
      absl::Seconds(absl::GetFlag(FLAGS_replication_deadline_seconds));
  options.admin_user = absl::GetFlag(FLAGS_admin_user);
  options.admin_password = absl::GetFlag(FLAGS_admin_password);
  if (const std::string f = absl::GetFlag(FLAGS_admin_password_file);
      !f.empty()) {
    auto password = PasswordFromFile(f);
    if (!password.ok()) {
      std::cerr << "error: --admin_password_file: " << password.status()
                << "\n";
      return 2;
    }
    options.admin_password = *password;
  }
  if (options.admin_password.empty()) {
    std::cerr << "error: give the city administrator's initial password with "
                 "--admin_password or --admin_password_file\n";
    return 2;
  }
  options.districts = absl::GetFlag(FLAGS_districts);
  options.industries = absl::GetFlag(FLAGS_industries);
  options.townships = absl::GetFlag(FLAGS_townships);
  options.grassroots = absl::GetFlag(FLAGS_grassroots);
  options.members = absl::GetFlag(FLAGS_members);
  options.inactive_percent = absl::GetFlag(FLAGS_inactive_percent);
  options.incomplete_percent = absl::GetFlag(FLAGS_incomplete_percent);
  options.seed = absl::GetFlag(FLAGS_seed);
  if (!absl::GetFlag(FLAGS_quiet)) {
    options.progress = [](absl::string_view line) {
      std::cerr << line << std::endl;
    };
  }

  // Shown (or saved) as soon as it is set: a later failure must not lose it.
  bool secret_ok = true;
  const std::string secret_file = absl::GetFlag(FLAGS_new_password_file);
  options.admin_password_changed = [&](const std::string& password) {
    const std::string who = absl::StrCat("'", options.admin_user, "'");
    if (!secret_file.empty()) {
      const absl::Status s = WriteSecret(secret_file, password);
      if (s.ok()) {
        std::cerr << "new password of " << who << " written to " << secret_file
                  << "\n";
        return;
      }
      secret_ok = false;
      std::cerr << "error: --new_password_file: " << s << "\n";
    }
    std::cerr << "new password of " << who << ": " << password
              << " (shown once: keep it)\n";
  };

  auto report = unionsync::RunDemo(options);
  if (!report.ok()) {
    std::cerr << "error: " << report.status() << "\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << FormatReportJson(*report);
  } else {
    std::cout << FormatNodes(*report) << FormatReport(*report);
  }
  return secret_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "unionsync-demo --port=PORT|--port_file=FILE "
      "--admin_password=PW|--admin_password_file=FILE "
      "[--nodes=ID=HOST:PORT,...] [--districts=N ...]");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
