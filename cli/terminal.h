// Reading secrets from the terminal.
#ifndef UNIONSYNC_CLI_TERMINAL_H_
#define UNIONSYNC_CLI_TERMINAL_H_

#include <string>

#include "absl/status/statusor.h"

namespace unionsync::cli {

// True when standard input is a terminal.
bool StdinIsTerminal();

// Writes `prompt` to standard error and reads one line from standard input with
// echo turned off (termios); the terminal is restored afterwards, also on
// SIGINT / SIGTERM.
absl::StatusOr<std::string> ReadSecretFromTerminal(const std::string& prompt);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_TERMINAL_H_
