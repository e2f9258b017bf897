// unionsync-hub: the city federation's node. For now it is a NodeServer with a
// mandatory mutual-TLS replication port that receives from the tier-2 nodes;
// reconciliation, progress, warnings and monitoring come later. "Is a hub" and
// "has a parent" are separate: a province hub later is a hub with
// --parent_address. Flags only; the work is in NodeServer.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "node/node_server.h"

ABSL_FLAG(std::string, node_id, "",
          "The hub's id: the id of the organisation it runs for (the "
          "organisation named in --tls_cert).");
ABSL_FLAG(std::string, data_dir, "", "Directory of the hub's RocksDB store.");
ABSL_FLAG(std::string, listen, "127.0.0.1:7400",
          "Address of the Admin API (port 0: any).");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound Admin API port is written here once serving.");
ABSL_FLAG(std::string, repl_listen, "",
          "Replication port for the tier-2 nodes, mutual TLS (required; port "
          "0: any).");
ABSL_FLAG(std::string, repl_port_file, "",
          "If set, the bound replication port is written here once serving.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM file of the CA that node certificates chain to (required).");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM file of the hub's certificate, CN = --node_id (required).");
ABSL_FLAG(std::string, tls_key, "",
          "PEM file of the hub's private key (required).");
ABSL_FLAG(std::string, parent_address, "",
          "host:port of a parent hub's replication port (a province hub "
          "above the city); empty: none.");
ABSL_FLAG(std::string, parent_id, "",
          "Organisation id of the parent hub (its certificate must name it).");
ABSL_FLAG(std::string, bootstrap_name, "",
          "First start: create the hub's organisation (the city federation) "
          "with this name.");
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
  ServeOptions serve;
  serve.program = "unionsync-hub";
  NodeOptions& options = serve.node;
  options.node_id = absl::GetFlag(FLAGS_node_id);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.listen = absl::GetFlag(FLAGS_listen);
  options.repl_listen = absl::GetFlag(FLAGS_repl_listen);
  options.tls.ca_pem_path = absl::GetFlag(FLAGS_tls_ca);
  options.tls.cert_pem_path = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_pem_path = absl::GetFlag(FLAGS_tls_key);
  options.parent_address = absl::GetFlag(FLAGS_parent_address);
  options.parent_id = absl::GetFlag(FLAGS_parent_id);
  serve.port_file = absl::GetFlag(FLAGS_port_file);
  serve.repl_port_file = absl::GetFlag(FLAGS_repl_port_file);
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
  if (options.repl_listen.empty() || options.tls.ca_pem_path.empty() ||
      options.tls.cert_pem_path.empty() || options.tls.key_pem_path.empty()) {
    std::cerr << "error: a hub receives from its child nodes: --repl_listen, "
                 "--tls_ca, --tls_cert and --tls_key are required\n";
    return 2;
  }
  if (const std::string name = absl::GetFlag(FLAGS_bootstrap_name);
      !name.empty()) {
    if (!options.parent_address.empty()) {
      std::cerr << "error: a hub with a parent receives its registration "
                   "from the parent: drop --bootstrap_name\n";
      return 2;
    }
    BootstrapOptions b;
    b.name = name;
    b.kind = absl::GetFlag(FLAGS_bootstrap_kind);
    b.tier = absl::GetFlag(FLAGS_bootstrap_tier);
    b.region = absl::GetFlag(FLAGS_bootstrap_region);
    b.admin = absl::GetFlag(FLAGS_bootstrap_admin);
    serve.bootstrap = b;
  }
  return ServeUntilSignal(serve);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "unionsync-hub --node_id=ID --data_dir=DIR --repl_listen=ADDR "
      "--tls_ca=PEM --tls_cert=PEM --tls_key=PEM [--listen=ADDR] "
      "[--bootstrap_name=NAME ...] [--parent_address=HOST:PORT "
      "--parent_id=ID]");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
