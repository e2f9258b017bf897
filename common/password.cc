#include "common/password.h"

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace unionsync {
namespace {

constexpr absl::string_view kScheme = "scrypt";
constexpr size_t kMaxDerivedKeyBytes = 1024;
// Slack on top of scrypt's own buffers for OpenSSL's bookkeeping.
constexpr uint64_t kMaxMemSlackBytes = uint64_t{1} << 20;

const char kEmpty[1] = {0};

// Bytes scrypt allocates (as OpenSSL computes it): the p * 128 * r byte B
// array plus the 128 * r * (N + 2) byte V/X/T area. Only called after the
// range checks in ValidateScryptParams, so it cannot overflow.
uint64_t ScryptMemoryBytes(const ScryptParams& params) {
  return 128 * params.r * (params.n + params.p + 2);
}

// Canonical unsigned decimal: 1-20 digits, no sign, no leading zeros (except
// "0" itself), no overflow.
absl::StatusOr<uint64_t> ParseDecimal(absl::string_view field,
                                      absl::string_view name) {
  if (field.empty() || field.size() > 20) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed password hash: ", name, " must be 1 to 20 decimal digits"));
  }
  if (field.size() > 1 && field[0] == '0') {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed password hash: ", name, " has a leading zero"));
  }
  uint64_t value = 0;
  for (char c : field) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(absl::StrCat(
          "malformed password hash: ", name, " is not a decimal number"));
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed password hash: ", name, " overflows"));
    }
    value = value * 10 + digit;
  }
  return value;
}

struct ParsedHash {
  ScryptParams params;
  std::string salt;
  std::string key;
};

absl::StatusOr<ParsedHash> ParseHash(absl::string_view encoded) {
  const std::vector<absl::string_view> fields = absl::StrSplit(encoded, '$');
  if (fields.size() != 6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed password hash: expected 6 '$'-separated fields, got ",
        fields.size()));
  }
  if (fields[0] != kScheme) {
    return absl::InvalidArgumentError(
        "malformed password hash: scheme is not \"scrypt\"");
  }
  ParsedHash parsed;
  ASSIGN_OR_RETURN(parsed.params.n, ParseDecimal(fields[1], "N"));
  ASSIGN_OR_RETURN(parsed.params.r, ParseDecimal(fields[2], "r"));
  ASSIGN_OR_RETURN(parsed.params.p, ParseDecimal(fields[3], "p"));
  if (absl::Status s = ValidateScryptParams(parsed.params); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed password hash: ", s.message()));
  }
  absl::StatusOr<std::string> salt = Base64Decode(fields[4]);
  if (!salt.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed password hash: salt: ", salt.status().message()));
  }
  if (salt->size() != kPasswordSaltBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed password hash: salt is ", salt->size(),
                     " bytes, expected ", kPasswordSaltBytes));
  }
  absl::StatusOr<std::string> key = Base64Decode(fields[5]);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed password hash: key: ", key.status().message()));
  }
  if (key->size() != kPasswordKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed password hash: key is ", key->size(),
                     " bytes, expected ", kPasswordKeyBytes));
  }
  parsed.salt = *std::move(salt);
  parsed.key = *std::move(key);
  return parsed;
}

}  // namespace

ScryptParams ScryptParams::ForTests() {
  ScryptParams params;
  params.n = uint64_t{1} << 10;
  return params;
}

absl::Status ValidateScryptParams(const ScryptParams& params) {
  const uint64_t n = params.n, r = params.r, p = params.p;
  if (n < 2 || (n & (n - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt N = ", n, " is not a power of two greater than 1"));
  }
  if (n > kScryptMaxN) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt N = ", n, " exceeds the limit ", kScryptMaxN));
  }
  if (r < 1 || r > kScryptMaxR) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt r = ", r, " is outside [1, ", kScryptMaxR, "]"));
  }
  if (p < 1 || p > kScryptMaxP) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt p = ", p, " is outside [1, ", kScryptMaxP, "]"));
  }
  if (r * p > kScryptMaxRTimesP) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt r * p = ", r * p, " exceeds the limit ", kScryptMaxRTimesP));
  }
  // RFC 7914 section 2: N must be less than 2^(128 * r / 8). Only binds for
  // r == 1 given kScryptMaxN.
  if (16 * r < 64 && n >= (uint64_t{1} << (16 * r))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt N = ", n, " must be less than 2^(16 * r) = 2^", 16 * r));
  }
  if (128 * r * n > kScryptMaxMemoryBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt parameters N = ", n, ", r = ", r,
        " need 128 * r * N = ", 128 * r * n,
        " bytes of memory, above the limit ", kScryptMaxMemoryBytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ScryptRaw(absl::string_view password,
                                      absl::string_view salt,
                                      const ScryptParams& params,
                                      size_t dk_len) {
  RETURN_IF_ERROR(ValidateScryptParams(params));
  if (dk_len < 1 || dk_len > kMaxDerivedKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("scrypt dk_len = ", dk_len,
                                                   " is outside [1, ",
                                                   kMaxDerivedKeyBytes, "]"));
  }
  std::string key(dk_len, '\0');
  const uint64_t maxmem = ScryptMemoryBytes(params) + kMaxMemSlackBytes;
  if (EVP_PBE_scrypt(
          password.empty() ? kEmpty : password.data(), password.size(),
          reinterpret_cast<const unsigned char*>(salt.empty() ? kEmpty
                                                              : salt.data()),
          salt.size(), params.n, params.r, params.p, maxmem,
          reinterpret_cast<unsigned char*>(key.data()), key.size()) != 1) {
    return OpenSslError("EVP_PBE_scrypt");
  }
  return key;
}

absl::StatusOr<std::string> HashPassword(absl::string_view password,
                                         const ScryptParams& params) {
  RETURN_IF_ERROR(ValidateScryptParams(params));
  ASSIGN_OR_RETURN(std::string salt, RandomBytes(kPasswordSaltBytes));
  ASSIGN_OR_RETURN(std::string key,
                   ScryptRaw(password, salt, params, kPasswordKeyBytes));
  return absl::StrCat(kScheme, "$", params.n, "$", params.r, "$", params.p, "$",
                      Base64Encode(salt), "$", Base64Encode(key));
}

absl::StatusOr<bool> VerifyPassword(absl::string_view password,
                                    absl::string_view encoded) {
  ASSIGN_OR_RETURN(ParsedHash parsed, ParseHash(encoded));
  ASSIGN_OR_RETURN(
      std::string key,
      ScryptRaw(password, parsed.salt, parsed.params, parsed.key.size()));
  return ConstantTimeEquals(key, parsed.key);
}

bool NeedsRehash(absl::string_view encoded, const ScryptParams& params) {
  absl::StatusOr<ParsedHash> parsed = ParseHash(encoded);
  if (!parsed.ok()) return true;
  return parsed->params.n != params.n || parsed->params.r != params.r ||
         parsed->params.p != params.p;
}

}  // namespace unionsync
