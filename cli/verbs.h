// The verbs of unionctl: every verb's flags, positional arguments and help
// (one table, Verbs()), and the lookups the parser and the help text use.
// cli/parse.cc turns the words of a command line into requests with it.
#ifndef UNIONSYNC_CLI_VERBS_H_
#define UNIONSYNC_CLI_VERBS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "cli/args.h"

namespace unionsync::cli {

// Largest --page-size a listing accepts.
inline constexpr int kMaxPageSize = 1000;

struct ProfileField {
  const char* flag;  // Command-line flag (also accepted by --clear).
  const char* path;  // Field path sent in clear_fields.
  const char* value_name;
  const char* help;
};

inline constexpr ProfileField kProfileFields[] = {
    {"credit-code", "credit_code", "CODE",
     "Unified social credit code, 18 characters (统一社会信用代码)"},
    {"chair-name", "chair.name", "NAME", "Union chair (工会主席)"},
    {"chair-phone", "chair.phone", "NUMBER", "Union chair's mobile phone"},
    {"admin-name", "data_admin.name", "NAME",
     "Data administrator (信息管理员)"},
    {"admin-phone", "data_admin.phone", "NUMBER",
     "Data administrator's mobile phone"},
    {"admin-trained", "data_admin.trained_date", "YYYY-MM-DD",
     "Day the data administrator was trained"},
    {"contact-name", "contact.name", "NAME", "Contact person (联系人)"},
    {"contact-phone", "contact.phone", "NUMBER",
     "Contact person's mobile phone"},
    {"employees", "employee_count", "N", "Number of employees (职工人数)"},
    {"founded", "founding_date", "YYYY-MM-DD", "Founding date (成立日期)"},
    {"address", "address", "TEXT", "Address (地址)"},
};

// Whole sub-messages that --clear also accepts.
inline constexpr std::pair<const char*, const char*> kProfileGroups[] = {
    {"chair", "chair"},
    {"admin", "data_admin"},
    {"data_admin", "data_admin"},
    {"contact", "contact"},
};

// The names --clear accepts, comma-separated.
std::string ClearFieldNames();

// Every verb, in the order `unionctl help` lists them.
const std::vector<VerbSpec>& Verbs();
// The verb called `name`; a placeholder spec when there is none (a
// programming error: callers check IsVerb first).
const VerbSpec& Spec(absl::string_view name);
// "org", "account", ...: the first word of a two-word verb.
bool IsGroup(absl::string_view word);
bool IsVerb(absl::string_view name);
// The second words of the verbs of `group`.
std::vector<std::string> SubVerbs(absl::string_view group);
// One line per verb of `group` (every verb when empty): name and summary.
std::string ListVerbs(absl::string_view group);

}  // namespace unionsync::cli

#endif  // UNIONSYNC_CLI_VERBS_H_
