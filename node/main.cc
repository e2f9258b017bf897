// unionsync-node: serves one organisation's subtree. Flags only; the work is in
// NodeServer (node/node_server.h), the flags in node/serve_flags.cc.
#include <iostream>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "node/serve_flags.h"

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "unionsync-node --node_id=ID --data_dir=DIR [--listen=ADDR] "
      "[--bootstrap_name=NAME ...] [--repl_listen=ADDR] "
      "[--parent_address=HOST:PORT --parent_id=ID] "
      "[--tls_ca=PEM --tls_cert=PEM --tls_key=PEM]\n  or: unionsync-node "
      "--flagfile=/etc/unionsync/ID.flags [--FLAG=VALUE ...] (one flag per "
      "line in the file; flags after it override it)");
  unionsync::PrintHelpIfAsked(argc, argv);
  absl::ParseCommandLine(argc, argv);
  auto options = unionsync::ServeOptionsFromFlags("unionsync-node",
                                                  /*hub=*/false);
  if (!options.ok()) {
    std::cerr << "error: " << options.status().message() << "\n";
    return 2;
  }
  return unionsync::ServeUntilSignal(*options);
}
