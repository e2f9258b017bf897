// Small helpers for tests that run the project's shell scripts (certs/*.sh).
#ifndef UNIONSYNC_TESTS_TESTING_SHELL_H_
#define UNIONSYNC_TESTS_TESTING_SHELL_H_

#include <string>

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

}  // namespace unionsync::testing

#endif  // UNIONSYNC_TESTS_TESTING_SHELL_H_
