#include "common/password_policy.h"

#include <crack.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto.h"

namespace unionsync {
namespace {

absl::Mutex cracklib_mu;

// Lower case with the usual substitutions undone, so "P@ssw0rd" reads as
// "password" and "Adm1n" as "admin".
std::string Normalized(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '@':
      case '4':
        out.push_back('a');
        break;
      case '0':
        out.push_back('o');
        break;
      case '1':
      case '!':
      case '|':
        out.push_back('l');
        break;
      case '3':
        out.push_back('e');
        break;
      case '$':
      case '5':
        out.push_back('s');
        break;
      case '7':
      case '+':
        out.push_back('t');
        break;
      default:
        out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

// `s` without leading and trailing characters that are not ASCII letters
// ("2019password!!" -> "password"; "P@ssw0rd2024" -> "P@ssw0rd").
absl::string_view LettersCore(absl::string_view s) {
  auto letter = [](char c) { return absl::ascii_isalpha(c); };
  const auto begin = std::find_if(s.begin(), s.end(), letter);
  const auto end = std::find_if(s.rbegin(), s.rend(), letter).base();
  if (begin >= end) return absl::string_view();
  return s.substr(begin - s.begin(), end - begin);
}

// cracklib's verdict on `pw` ("" when it finds nothing), or
// FAILED_PRECONDITION when the dictionary cannot be used.
absl::StatusOr<std::string> Cracklib(const std::string& pw) {
  char message[256] = {0};
  absl::MutexLock lock(&cracklib_mu);
  if (__DEBIAN_SPECIFIC__SafeFascistCheck(pw.c_str(), GetDefaultCracklibDict(),
                                          message, sizeof(message)) == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the password dictionary ", GetDefaultCracklibDict(),
        " cannot be read (install Debian's cracklib-runtime): ",
        std::strerror(errno)));
  }
  return std::string(message);
}

}  // namespace

absl::Status CheckPasswordDictionary() {
  return Cracklib("Zq8#unionsync-probe").status();
}

absl::Status PasswordProblems(absl::string_view password,
                              absl::string_view username,
                              std::vector<PasswordProblem>* problems) {
  problems->clear();
  if (absl::Status shape = CheckPasswordPolicy(password); !shape.ok()) {
    std::string code = "too_few_classes";
    if (password.size() < kMinPasswordBytes) code = "too_short";
    if (password.size() > kMaxPasswordBytes) code = "too_long";
    if (absl::StrContains(shape.message(), "repeated")) {
      code = "repeated_character";
    }
    problems->push_back({code, std::string(shape.message())});
    // A password too long for the buffers below is not checked further.
    if (code == "too_long") return absl::OkStatus();
  }
  const std::string norm = Normalized(password);
  const std::string user = Normalized(username);
  std::string reversed(user.rbegin(), user.rend());
  if (user.size() >= 3 &&
      (absl::StrContains(norm, user) || absl::StrContains(norm, reversed) ||
       (norm.size() >= 4 &&
        absl::StrContains(user, LettersCore(norm)) &&
        LettersCore(norm).size() >= 4))) {
    problems->push_back(
        {"contains_username",
         "password must not contain the username or be derived from it"});
  }
  // The password itself, then its letters with substitutions undone and
  // digits and symbols around them removed.
  std::string verdict;
  if (password.size() >= kMinPasswordBytes) {
    auto whole = Cracklib(std::string(password));
    if (!whole.ok()) return whole.status();
    verdict = *whole;
  }
  // Digits and symbols around the letters go first, then the substitutions:
  // "P@ssw0rd2024" -> "P@ssw0rd" -> "password".
  const std::string core = Normalized(LettersCore(password));
  if (verdict.empty() && core.size() >= 4) {
    auto c = Cracklib(core);
    if (!c.ok()) return c.status();
    // A short core is fine on its own ("it is too short"); a word is not.
    if (absl::StrContains(*c, "dictionary word") ||
        absl::StrContains(*c, "simplistic")) {
      verdict = *c;
    }
  }
  if (!verdict.empty()) {
    problems->push_back(
        {"dictionary_word",
         absl::StrCat("password is too easy to guess (", verdict, ")")});
  }
  return absl::OkStatus();
}

absl::Status CheckNewPassword(absl::string_view password,
                              absl::string_view username) {
  std::vector<PasswordProblem> problems;
  if (absl::Status s = PasswordProblems(password, username, &problems);
      !s.ok()) {
    return s;
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("new_password: ", problems.front().message));
}

}  // namespace unionsync
