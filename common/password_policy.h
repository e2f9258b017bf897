// The policy for passwords people choose (R3, docs/SECURITY.md): the shape
// rules of CheckPasswordPolicy (common/crypto.h: length, character classes,
// no single repeated character), plus
//   - not a dictionary word: cracklib (Debian's libcrack2 with the
//     cracklib-runtime dictionary) checks the password, and the password
//     with common letter substitutions undone (@ -> a, 0 -> o, 1 -> l, ...)
//     and leading and trailing digits and symbols removed, so "P@ssw0rd2024"
//     is refused like "password";
//   - not derived from the username: neither contains the other (ignoring
//     case and the same substitutions), nor the username reversed.
//
// Thread-safety: thread-safe (cracklib is not, so calls into it are
// serialised).
#ifndef UNIONSYNC_COMMON_PASSWORD_POLICY_H_
#define UNIONSYNC_COMMON_PASSWORD_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace unionsync {

struct PasswordProblem {
  // Stable code: too_short, too_long, repeated_character, too_few_classes,
  // contains_username, dictionary_word.
  std::string code;
  std::string message;  // English, for APIs and logs.
};

// Everything wrong with `password` as the new password of `username`; empty
// when it is acceptable. FAILED_PRECONDITION (not a problem list) when the
// cracklib dictionary cannot be read: the policy fails closed.
absl::Status PasswordProblems(absl::string_view password,
                              absl::string_view username,
                              std::vector<PasswordProblem>* problems);

// OK, INVALID_ARGUMENT "new_password: <first problem>", or the
// FAILED_PRECONDITION of a missing dictionary.
absl::Status CheckNewPassword(absl::string_view password,
                              absl::string_view username);

// OK when the cracklib dictionary is installed and readable (checked at node
// start, so a node never runs with a policy it cannot enforce).
absl::Status CheckPasswordDictionary();

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_PASSWORD_POLICY_H_
