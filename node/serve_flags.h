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

}  // namespace unionsync

#endif  // UNIONSYNC_NODE_SERVE_FLAGS_H_
