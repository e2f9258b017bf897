#include "cli/terminal.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace unionsync::cli {
namespace {

struct termios g_saved_termios;
volatile std::sig_atomic_t g_echo_off = 0;

void RestoreAndReraise(int sig) {
  if (g_echo_off) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    (void)!write(STDERR_FILENO, "\n", 1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

bool StdinIsTerminal() { return isatty(STDIN_FILENO) == 1; }

absl::StatusOr<std::string> ReadSecretFromTerminal(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  struct termios saved;
  if (tcgetattr(STDIN_FILENO, &saved) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read the terminal settings: ", std::strerror(errno)));
  }
  struct termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;

  g_saved_termios = saved;
  struct sigaction action {};
  action.sa_handler = RestoreAndReraise;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  g_echo_off = 1;
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
    g_echo_off = 0;
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot turn off echo: ", std::strerror(errno)));
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  g_echo_off = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!got) return absl::CancelledError("no password entered");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace unionsync::cli
