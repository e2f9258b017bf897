// unionsync-node: serves one organisation's subtree. Flags only; the work is in
// NodeServer.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/org_rules.h"
#include "node/node_server.h"

ABSL_FLAG(std::string, node_id, "",
          "This node's id: the id of the organisation it runs for.");
ABSL_FLAG(std::string, data_dir, "", "Directory of the node's RocksDB store.");
ABSL_FLAG(std::string, listen, "127.0.0.1:7400",
          "Address of the Admin API (port 0: any).");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written here once serving.");
ABSL_FLAG(
    std::string, bootstrap_name, "",
    "First start of a root node: create its organisation with this name.");
ABSL_FLAG(std::string, bootstrap_kind, "city_federation",
          "Kind of the bootstrapped organisation.");
ABSL_FLAG(int, bootstrap_tier, 1, "Tier of the bootstrapped organisation.");
ABSL_FLAG(std::string, bootstrap_region, "",
          "Region code of the bootstrapped organisation.");
ABSL_FLAG(std::string, bootstrap_admin, "admin",
          "Username of its first data administrator.");
ABSL_FLAG(int, scrypt_log2_n, 15,
          "scrypt cost: log2(N). 15 (32 MiB, ~80 ms) in production; lower only "
          "for demos.");

namespace {

int Run() {
  using namespace unionsync;
  NodeOptions options;
  options.node_id = absl::GetFlag(FLAGS_node_id);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen = absl::GetFlag(FLAGS_listen);
  const int log_n = absl::GetFlag(FLAGS_scrypt_log2_n);
  if (log_n < 10 || log_n > 20) {
    std::cerr << "error: --scrypt_log2_n must be between 10 and 20\n";
    return 2;
  }
  options.admin.scrypt.n = uint64_t{1} << log_n;
  if (options.node_id.empty() || options.data_dir.empty()) {
    std::cerr << "error: --node_id and --data_dir are required\n";
    return 2;
  }
  // Block the stop signals in every thread; one thread waits for them below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto node = NodeServer::Start(options);
  if (!node.ok()) {
    std::cerr << "error: " << node.status() << "\n";
    return 1;
  }
  if (const std::string name = absl::GetFlag(FLAGS_bootstrap_name);
      !name.empty()) {
    auto kind = ParseOrgKind(absl::GetFlag(FLAGS_bootstrap_kind));
    if (!kind.ok()) {
      std::cerr << "error: --bootstrap_kind: " << kind.status() << "\n";
      return 2;
    }
    v1::Org org;
    org.set_id(options.node_id);
    org.set_name(name);
    org.set_kind(*kind);
    org.set_tier(absl::GetFlag(FLAGS_bootstrap_tier));
    org.set_region(absl::GetFlag(FLAGS_bootstrap_region));
    auto password =
        (*node)->admin().Bootstrap(org, absl::GetFlag(FLAGS_bootstrap_admin));
    if (password.ok()) {
      std::cout << "bootstrapped organisation " << options.node_id
                << "; data administrator '"
                << absl::GetFlag(FLAGS_bootstrap_admin)
                << "' initial password: " << *password
                << "\n(shown once: change it at first login)" << std::endl;
    } else if (!absl::IsAlreadyExists(password.status())) {
      std::cerr << "error: bootstrap: " << password.status() << "\n";
      return 1;
    }
  }
  std::cout << "unionsync-node " << options.node_id << " serving on port "
            << (*node)->port() << std::endl;
  if (const std::string f = absl::GetFlag(FLAGS_port_file); !f.empty()) {
    std::ofstream out(f + ".tmp");
    out << (*node)->port() << "\n";
    out.close();
    std::rename((f + ".tmp").c_str(), f.c_str());
  }
  std::thread waiter([&stop, &node] {
    int sig = 0;
    sigwait(&stop, &sig);
    std::cout << "signal " << sig << ": shutting down" << std::endl;
    (*node)->Shutdown();
  });
  (*node)->Wait();
  waiter.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "unionsync-node --node_id=ID --data_dir=DIR [--listen=ADDR] "
      "[--bootstrap_name=NAME ...]");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
