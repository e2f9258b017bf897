// Command-line flags shared by unionsync-node and unionsync-hub, turned into
// ServeOptions. Keeps both mains a few lines long.
#ifndef UNIONSYNC_NODE_SERVE_FLAGS_H_
#define UNIONSYNC_NODE_SERVE_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "node/node_server.h"

namespace unionsync {

// Reads the parsed flags. INVALID_ARGUMENT names the flag at fault.
// `hub`: the process is the hub: it reconciles, evaluates the warning rules
// and must accept child nodes.
absl::StatusOr<ServeOptions> ServeOptionsFromFlags(const std::string& program,
                                                   bool hub);

// When argv asks for help (--help, -h), prints the usage message and every
// flag of this file with its meaning and default, and exits 0. Call after
// absl::SetProgramUsageMessage and before absl::ParseCommandLine (whose own
// --help lists only the flags of the file holding main() and exits 1).
void PrintHelpIfAsked(int argc, char** argv);

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_SERVE_FLAGS_H_
