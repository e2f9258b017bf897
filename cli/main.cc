// unionctl: see cli/unionctl.h and `unionctl --help`.
#include <string>
#include <vector>

#include "cli/unionctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return unionsync::cli::RunUnionctl(args,
                                     unionsync::cli::EnvironmentFromProcess(),
                                     unionsync::cli::ProcessIo());
}
