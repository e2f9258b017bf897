#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace unionsync {
namespace {

// OpenSSL may treat a null pointer specially even with length 0 (e.g. HMAC
// "reuse the previous key"); always hand it a valid address.
const unsigned char kEmpty[1] = {0};

const unsigned char* Bytes(absl::string_view s) {
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// For the few functions whose signature cannot carry a Status: OpenSSL only
// fails here on allocation failure or a broken installation.
[[noreturn]] void DieOnOpenSslFailure(const char* what) {
  std::string message(OpenSslError(what).message());
  LogError("crypto", absl::StrCat("fatal OpenSSL failure: ", message));
  std::abort();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Uniform random indices in [0, bound) from a buffered RAND_bytes stream,
// using rejection sampling so that no index is favoured.
class RandomIndexSource {
 public:
  // Requires 1 <= bound <= 256.
  absl::StatusOr<size_t> Next(size_t bound) {
    assert(bound >= 1 && bound <= 256);
    // Largest multiple of `bound` not above 256: bytes at or above it would
    // bias the low residues, so they are rejected and redrawn.
    const unsigned limit = 256 - (256 % bound);
    while (true) {
      if (pos_ == buffer_.size()) {
        ASSIGN_OR_RETURN(buffer_, RandomBytes(64));
        pos_ = 0;
      }
      const unsigned byte = static_cast<unsigned char>(buffer_[pos_++]);
      if (byte < limit) return byte % bound;
    }
  }

 private:
  std::string buffer_;
  size_t pos_ = 0;
};

bool IsLower(unsigned char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

// True if `s` is one character (one UTF-8 sequence, or one byte if the lead
// byte is not a valid UTF-8 lead) repeated.
bool IsSingleRepeatedCharacter(absl::string_view s) {
  if (s.empty()) return false;
  const unsigned char lead = static_cast<unsigned char>(s[0]);
  size_t width = 1;  // ASCII, stray continuation byte or invalid lead.
  if (lead >= 0xC2 && lead <= 0xDF) width = 2;
  if (lead >= 0xE0 && lead <= 0xEF) width = 3;
  if (lead >= 0xF0 && lead <= 0xF4) width = 4;
  if (s.size() % width != 0) return false;
  const absl::string_view first = s.substr(0, width);
  for (size_t i = width; i < s.size(); i += width) {
    if (s.substr(i, width) != first) return false;
  }
  return true;
}

}  // namespace

absl::Status OpenSslError(absl::string_view context) {
  std::vector<std::string> errors;
  while (unsigned long code = ERR_get_error()) {  // NOLINT(runtime/int)
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    errors.emplace_back(buf);
  }
  if (errors.empty()) errors.emplace_back("no OpenSSL error queued");
  return absl::InternalError(
      absl::StrCat(context, ": ", absl::StrJoin(errors, "; ")));
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("RandomBytes: n = ", n, " exceeds INT_MAX"));
  }
  std::string out(n, '\0');
  if (n == 0) return out;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    return OpenSslError("RAND_bytes");
  }
  return out;
}

std::string HexEncode(absl::string_view data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has odd length ", hex.size()));
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      const size_t bad = hi < 0 ? i : i + 1;
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid hex character '", absl::CHexEscape(hex.substr(bad, 1)),
          "' at offset ", bad));
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::string Base64Encode(absl::string_view data) {
  return absl::Base64Escape(data);
}

absl::StatusOr<std::string> Base64Decode(absl::string_view b64) {
  if (b64.size() % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid base64: length ", b64.size(), " is not a multiple of 4"));
  }
  size_t padding = 0;
  if (!b64.empty() && b64.back() == '=') {
    padding = b64[b64.size() - 2] == '=' ? 2 : 1;
  }
  const size_t body = b64.size() - padding;
  for (size_t i = 0; i < body; ++i) {
    if (!IsBase64Char(b64[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid base64 character '",
                       absl::CHexEscape(b64.substr(i, 1)), "' at offset ", i));
    }
  }
  std::string out;
  if (!absl::Base64Unescape(b64, &out)) {
    return absl::InvalidArgumentError("invalid base64 padding");
  }
  // Rejects encodings with nonzero padding bits ("Zh==" for "f"), which would
  // otherwise give several spellings of the same bytes.
  if (absl::Base64Escape(out) != b64) {
    return absl::InvalidArgumentError(
        "invalid base64: non-canonical encoding (nonzero padding bits)");
  }
  return out;
}

std::string Sha256(absl::string_view data) {
  // OpenSSL 3 looks the algorithm up on every EVP_sha256() use; fetch it once
  // (digests are on the store's hot path: every record written is hashed).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  // One context per thread, reused.
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (sha256 == nullptr || ctx == nullptr ||
      EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md, &md_len) != 1) {
    DieOnOpenSslFailure("SHA-256");
  }
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (key.size() > static_cast<size_t>(INT_MAX) ||
      HMAC(EVP_sha256(), Bytes(key), static_cast<int>(key.size()), Bytes(data),
           data.size(), md, &md_len) == nullptr) {
    DieOnOpenSslFailure("HMAC(SHA-256)");
  }
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(Bytes(a), Bytes(b), a.size()) == 0;
}

absl::StatusOr<std::string> RandomToken() {
  ASSIGN_OR_RETURN(std::string bytes, RandomBytes(32));
  return HexEncode(bytes);
}

void XorInto(std::string* acc, absl::string_view h) {
  assert(acc->empty() || acc->size() == h.size());
  if (acc->empty()) acc->assign(h.size(), '\0');
  const size_t n = std::min(acc->size(), h.size());
  for (size_t i = 0; i < n; ++i) (*acc)[i] ^= h[i];
}

absl::StatusOr<std::string> GenerateInitialPassword() {
  const std::string alphabet =
      absl::StrCat(kInitialPasswordLower, kInitialPasswordUpper,
                   kInitialPasswordDigits, kInitialPasswordSymbols);
  RandomIndexSource random;
  // A candidate lacks some class with probability ~0.42, so 200 attempts fail
  // only with probability ~1e-75; the bound just guarantees termination.
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::string candidate;
    candidate.reserve(kInitialPasswordLength);
    for (size_t i = 0; i < kInitialPasswordLength; ++i) {
      ASSIGN_OR_RETURN(size_t index, random.Next(alphabet.size()));
      candidate.push_back(alphabet[index]);
    }
    auto has_any_of = [&candidate](absl::string_view set) {
      return candidate.find_first_of(set.data(), 0, set.size()) !=
             std::string::npos;
    };
    if (has_any_of(kInitialPasswordLower) &&
        has_any_of(kInitialPasswordUpper) &&
        has_any_of(kInitialPasswordDigits) &&
        has_any_of(kInitialPasswordSymbols)) {
      return candidate;
    }
  }
  return absl::InternalError(
      "GenerateInitialPassword: no valid candidate in 200 attempts");
}

absl::Status CheckPasswordPolicy(absl::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("password is too short: ", password.size(),
                     " bytes, at least ", kMinPasswordBytes, " required"));
  }
  if (password.size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("password is too long: ", password.size(),
                     " bytes, at most ", kMaxPasswordBytes, " allowed"));
  }
  if (IsSingleRepeatedCharacter(password)) {
    return absl::InvalidArgumentError(
        "password must not be a single repeated character");
  }
  bool lower = false, upper = false, digit = false, other = false;
  for (unsigned char c : password) {
    if (IsLower(c)) {
      lower = true;
    } else if (IsUpper(c)) {
      upper = true;
    } else if (IsDigit(c)) {
      digit = true;
    } else {
      other = true;
    }
  }
  if (lower + upper + digit + other >= 3) return absl::OkStatus();
  std::vector<absl::string_view> missing;
  if (!lower) missing.push_back("lowercase letter");
  if (!upper) missing.push_back("uppercase letter");
  if (!digit) missing.push_back("digit");
  if (!other) missing.push_back("symbol or other character");
  return absl::InvalidArgumentError(absl::StrCat(
      "password must contain at least three of the four character classes "
      "(lowercase letter, uppercase letter, digit, symbol or other "
      "character); missing: ",
      absl::StrJoin(missing, ", "), " - add at least ",
      missing.size() == 2 ? "one" : "two", " of them"));
}

}  // namespace unionsync
