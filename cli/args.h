// A small, strict argument parser for unionctl verbs, and the usage text
// generated from the same declarations, so that what --help prints is exactly
// what the parser accepts.
//
// Pure functions only: no I/O, no protobuf, no gRPC.
#ifndef UNIONSYNC_CLI_ARGS_H_
#define UNIONSYNC_CLI_ARGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unionsync::cli {

enum class FlagType {
  kValue,     // --name VALUE or --name=VALUE, at most once.
  kBool,      // --name, no value.
  kRepeated,  // --name VALUE, any number of times.
};

struct FlagSpec {
  std::string name;  // Without the leading "--".
  FlagType type = FlagType::kValue;
  std::string value_name;  // Shown in usage, e.g. "ID"; empty for kBool.
  std::string help;
  bool required = false;
};

struct PositionalSpec {
  std::string name;  // Shown in usage, e.g. "ORG".
  std::string help;
  bool optional = false;
};

// Everything about one verb ("org create"): what it accepts and how it is
// explained.
struct VerbSpec {
  std::string name;     // "login", "org create", ...
  std::string summary;  // One line.
  std::vector<PositionalSpec> positional;
  std::vector<FlagSpec> flags;
  std::string details;  // Further paragraphs for --help; may be empty.
  std::vector<std::string> examples;
};

// The result of parsing the words after a verb.
class ParsedArgs {
 public:
  bool Has(absl::string_view flag) const;
  // The value of a kValue flag, or `fallback` when absent.
  std::string Get(absl::string_view flag,
                  absl::string_view fallback = "") const;
  // All values of a kRepeated flag, in the order given.
  std::vector<std::string> GetAll(absl::string_view flag) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Positional argument `i`, or "" when absent (only for optional arguments).
  std::string Positional(size_t i) const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseVerbArgs(
      const VerbSpec& spec, const std::vector<std::string>& args);
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// Parses the words after the verb against `spec`. Flags may appear before,
// between and after positional arguments; "--" ends flags. A value that starts
// with "--" must be given as
// --flag=VALUE. Errors are InvalidArgument with a message meant for the user.
absl::StatusOr<ParsedArgs> ParseVerbArgs(const VerbSpec& spec,
                                         const std::vector<std::string>& args);

// True when `args` asks for help (-h or --help before any "--").
bool WantsHelp(const std::vector<std::string>& args);

// The --help text of a verb: synopsis, description, arguments, options,
// examples.
std::string VerbUsage(const VerbSpec& spec);

// Terminal columns taken by UTF-8 text: East Asian wide and full-width
// characters count 2.
int DisplayWidth(absl::string_view utf8);

// Pads `text` with spaces on the right (or the left) to `width` display
// columns.
std::string PadRight(absl::string_view text, int width);
std::string PadLeft(absl::string_view text, int width);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_ARGS_H_
