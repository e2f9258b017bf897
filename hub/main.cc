// unionsync-hub: the city federation's node: a NodeServer with a mandatory
// mutual-TLS replication port that receives from the tier-2 nodes, which
// also reconciles what arrives, evaluates the campaign's warning rules
// (--campaign) and serves the workbench, with the city's progress, over HTTPS
// (--web_listen). "Is a hub" and "has a parent" are separate: a province hub
// later is a hub with --parent_address. Flags only (node/serve_flags.cc).
#include <iostream>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "node/serve_flags.h"

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "unionsync-hub --node_id=ID --data_dir=DIR --repl_listen=ADDR "
      "--tls_ca=PEM --tls_cert=PEM --tls_key=PEM [--listen=ADDR] "
      "[--campaign=FILE] [--web_listen=ADDR] "
      "[--bootstrap_name=NAME ...] [--parent_address=HOST:PORT "
      "--parent_id=ID]\n  or: unionsync-hub --flagfile=/etc/unionsync/ID.flags "
      "[--FLAG=VALUE ...] (one flag per line in the file; flags after it "
      "override it)");
  unionsync::PrintHelpIfAsked(argc, argv);
  absl::ParseCommandLine(argc, argv);
  auto options = unionsync::ServeOptionsFromFlags("unionsync-hub",
                                                  /*hub=*/true);
  if (!options.ok()) {
    std::cerr << "error: " << options.status().message() << "\n";
    return 2;
  }
  return unionsync::ServeUntilSignal(*options);
}
