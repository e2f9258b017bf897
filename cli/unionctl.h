// unionctl: the operators' and data administrators' command line over the Admin
// API (unionsync.v1.AdminService). main() is a thin wrapper around
// RunUnionctl().
#ifndef UNIONSYNC_CLI_UNIONCTL_H_
#define UNIONSYNC_CLI_UNIONCTL_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/parse.h"

namespace unionsync::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure =
    1;  // The call failed (server error, I/O, no session).
inline constexpr int kExitUsage = 2;  // Bad command line.

// Where unionctl reads and writes; tests substitute string streams.
struct Io {
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // When true and --password-stdin is not given, passwords are read with
  // read_secret.
  bool stdin_is_tty = false;
  std::function<absl::StatusOr<std::string>(const std::string& prompt)>
      read_secret;
  // The current time in milliseconds since the epoch, for ages such as "last
  // acknowledged 12s ago"; the system clock when empty.
  std::function<int64_t()> now_ms;
};

// $UNIONSYNC_SERVER, $UNIONSYNC_SESSION, $HOME (else the passwd entry's home
// directory).
Environment EnvironmentFromProcess();
// std::cin / std::cout / std::cerr and the terminal.
Io ProcessIo();

// Runs one command line (without the program name); returns the exit status.
int RunUnionctl(const std::vector<std::string>& argv, const Environment& env,
                const Io& io);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_UNIONCTL_H_
