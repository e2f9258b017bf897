#include "cli/args.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace unionsync::cli {
namespace {

const FlagSpec* FindFlag(const VerbSpec& spec, absl::string_view name) {
  for (const FlagSpec& f : spec.flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string Where(const VerbSpec& spec) {
  return absl::StrCat("unionctl ", spec.name);
}

// Decodes one UTF-8 sequence at `s[*i]`, advancing `*i`; malformed bytes decode
// as U+FFFD.
uint32_t NextCodePoint(absl::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(*i);
  int extra = 0;
  uint32_t cp = 0;
  if (c < 0x80) {
    ++*i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    extra = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3;
    cp = c & 0x07;
  } else {
    ++*i;
    return 0xFFFD;
  }
  size_t k = *i + 1;
  for (int n = 0; n < extra; ++n, ++k) {
    if (k >= s.size() || (byte(k) & 0xC0) != 0x80) {
      *i = k;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  *i = k;
  return cp;
}

bool IsWide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
         (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

bool IsZeroWidth(uint32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || cp == 0x200B || cp == 0x200D ||
         (cp >= 0xFE00 && cp <= 0xFE0F);
}

}  // namespace

bool ParsedArgs::Has(absl::string_view flag) const {
  return values_.find(flag) != values_.end();
}

std::string ParsedArgs::Get(absl::string_view flag,
                            absl::string_view fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return {};
  return it->second;
}

std::string ParsedArgs::Positional(size_t i) const {
  return i < positional_.size() ? positional_[i] : "";
}

bool WantsHelp(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

absl::StatusOr<ParsedArgs> ParseVerbArgs(const VerbSpec& spec,
                                         const std::vector<std::string>& args) {
  ParsedArgs out;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (flags_done || word.size() < 2 || word[0] != '-' || word == "-") {
      out.positional_.push_back(word);
      continue;
    }
    if (word == "--") {
      flags_done = true;
      continue;
    }
    if (word[1] != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", word, " for `", Where(spec),
                       "` (flags are spelled --name)"));
    }
    absl::string_view body = absl::string_view(word).substr(2);
    std::string name(body.substr(0, body.find('=')));
    const bool inline_value = body.find('=') != absl::string_view::npos;
    const FlagSpec* flag = FindFlag(spec, name);
    if (flag == nullptr) {
      std::string hint;
      if (name == "json" || name == "server" || name == "session" ||
          name == "timeout") {
        hint = absl::StrCat(" (--", name,
                            " is a global option: put it before the verb, as "
                            "in `unionctl --",
                            name, name == "json" ? "" : " VALUE", " ",
                            spec.name, " ...`)");
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag --", name, " for `", Where(spec), "`", hint));
    }
    std::vector<std::string>& slot = out.values_[name];
    if (flag->type == FlagType::kBool) {
      if (inline_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " takes no value"));
      }
      slot.push_back("true");
      continue;
    }
    std::string value;
    if (inline_value) {
      value = std::string(body.substr(body.find('=') + 1));
    } else {
      if (i + 1 >= args.size() || absl::StartsWith(args[i + 1], "--")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "flag --", name, " needs a value (", flag->value_name, ")"));
      }
      value = args[++i];
    }
    if (flag->type == FlagType::kValue && !slot.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " given more than once"));
    }
    slot.push_back(std::move(value));
  }

  for (const FlagSpec& f : spec.flags) {
    if (f.required && !out.Has(f.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing required flag --", f.name, " ", f.value_name,
                       " for `", Where(spec), "`"));
    }
  }
  size_t required = 0;
  for (const PositionalSpec& p : spec.positional) {
    if (!p.optional) ++required;
  }
  if (out.positional_.size() < required) {
    return absl::InvalidArgumentError(absl::StrCat(
        "missing argument ", spec.positional[out.positional_.size()].name,
        " for `", Where(spec), "`"));
  }
  if (out.positional_.size() > spec.positional.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument \"", out.positional_[spec.positional.size()],
        "\" for `", Where(spec), "`"));
  }
  for (size_t i = 0; i < out.positional_.size(); ++i) {
    if (out.positional_[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "argument ", spec.positional[i].name, " must not be empty"));
    }
  }
  return out;
}

std::string VerbUsage(const VerbSpec& spec) {
  std::vector<std::string> synopsis = {"unionctl [global options]", spec.name};
  bool optional_flags = false;
  for (const PositionalSpec& p : spec.positional) {
    synopsis.push_back(p.optional ? absl::StrCat("[", p.name, "]") : p.name);
  }
  for (const FlagSpec& f : spec.flags) {
    if (f.required) {
      synopsis.push_back(absl::StrCat("--", f.name, " ", f.value_name));
    } else {
      optional_flags = true;
    }
  }
  if (optional_flags) synopsis.push_back("[options]");

  std::string out = absl::StrCat("Usage: ", absl::StrJoin(synopsis, " "),
                                 "\n\n", spec.summary, "\n");
  if (!spec.details.empty()) {
    absl::StrAppend(&out, "\n",
                    absl::StripTrailingAsciiWhitespace(spec.details), "\n");
  }

  if (!spec.positional.empty()) {
    int width = 0;
    for (const PositionalSpec& p : spec.positional) {
      width = std::max(width, DisplayWidth(p.name));
    }
    absl::StrAppend(&out, "\nArguments:\n");
    for (const PositionalSpec& p : spec.positional) {
      absl::StrAppend(&out, "  ", PadRight(p.name, width), "  ", p.help,
                      p.optional ? " (optional)" : "", "\n");
    }
  }

  std::vector<std::pair<std::string, std::string>> rows;
  for (const FlagSpec& f : spec.flags) {
    std::string left = absl::StrCat("--", f.name);
    if (f.type != FlagType::kBool) absl::StrAppend(&left, " ", f.value_name);
    std::string help = f.help;
    if (f.required) absl::StrAppend(&help, " (required)");
    if (f.type == FlagType::kRepeated) absl::StrAppend(&help, " (repeatable)");
    rows.emplace_back(std::move(left), std::move(help));
  }
  rows.emplace_back("-h, --help", "Show this help.");
  int width = 0;
  for (const auto& [left, help] : rows) {
    width = std::max(width, DisplayWidth(left));
  }
  absl::StrAppend(&out, "\nOptions:\n");
  for (const auto& [left, help] : rows) {
    absl::StrAppend(&out, "  ", PadRight(left, width), "  ", help, "\n");
  }
  if (!spec.examples.empty()) {
    absl::StrAppend(
        &out, spec.examples.size() == 1 ? "\nExample:\n" : "\nExamples:\n");
    for (const std::string& e : spec.examples) {
      absl::StrAppend(&out, "  ", e, "\n");
    }
  }
  return out;
}

int DisplayWidth(absl::string_view utf8) {
  int width = 0;
  size_t i = 0;
  while (i < utf8.size()) {
    uint32_t cp = NextCodePoint(utf8, &i);
    if (IsZeroWidth(cp)) continue;
    width += IsWide(cp) ? 2 : 1;
  }
  return width;
}

std::string PadRight(absl::string_view text, int width) {
  int pad = width - DisplayWidth(text);
  return absl::StrCat(text, std::string(pad > 0 ? pad : 0, ' '));
}

std::string PadLeft(absl::string_view text, int width) {
  int pad = width - DisplayWidth(text);
  return absl::StrCat(std::string(pad > 0 ? pad : 0, ' '), text);
}

}  // namespace unionsync::cli
