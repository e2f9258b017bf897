// Small helpers for tests that run the project's shell scripts (certs/*.sh).
#ifndef UNIONSYNC_TESTS_TESTING_SHELL_H_
#define UNIONSYNC_TESTS_TESTING_SHELL_H_

#include <stdio.h>
#include <sys/wait.h>

#include <string>
#include <utility>

namespace unionsync::testing {

// `s` quoted for a POSIX shell command line.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

// Runs `cmd` with /bin/sh; its exit code (-1 when it did not exit) and what
// it printed on both streams.
inline std::pair<int, std::string> RunShell(const std::string& cmd) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_TESTING_SHELL_H_
