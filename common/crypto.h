// Small cryptographic helpers on top of OpenSSL 3: random bytes and tokens,
// hex/base64 codecs, SHA-256, HMAC-SHA256, constant-time comparison,
// order-independent XOR digests, initial-password generation and the password
// policy.
//
// Thread-safety: every function here is thread-safe (stateless apart from
// OpenSSL's own thread-safe DRBG and per-thread error queue).
#ifndef UNIONSYNC_COMMON_CRYPTO_H_
#define UNIONSYNC_COMMON_CRYPTO_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unionsync {

// Returns an INTERNAL status "<context>: <OpenSSL error strings>" built from
// (and clearing) this thread's OpenSSL error queue. For use right after an
// OpenSSL call reported failure.
absl::Status OpenSslError(absl::string_view context);

// `n` cryptographically secure random bytes (RAND_bytes). n == 0 yields "".
// INVALID_ARGUMENT if n exceeds INT_MAX, INTERNAL if the DRBG fails.
absl::StatusOr<std::string> RandomBytes(size_t n);

// Lowercase hex, two characters per byte.
std::string HexEncode(absl::string_view data);
// Inverse of HexEncode; accepts upper- and lowercase digits. INVALID_ARGUMENT
// on odd length or a non-hex character.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

// RFC 4648 standard alphabet ("+/") with "=" padding.
std::string Base64Encode(absl::string_view data);
// Strict inverse of Base64Encode: the input must be exactly what Base64Encode
// would produce (length a multiple of 4, padding only at the end, zero padding
// bits, no whitespace, no URL-safe alphabet). INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> Base64Decode(absl::string_view b64);

// SHA-256 of `data`: 32 raw bytes.
std::string Sha256(absl::string_view data);
// HMAC-SHA256 of `data` under `key` (any length, including empty): 32 raw
// bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data);

// True iff a == b. The content comparison (CRYPTO_memcmp) takes time
// independent of where the inputs differ; only the lengths (which are not
// secret for MACs, hashes and tokens) cause an early `false`.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// A fresh session token: 32 random bytes as 64 lowercase hex characters.
absl::StatusOr<std::string> RandomToken();

// XORs `h` into `*acc` byte-wise. If `*acc` is empty it is first resized to
// h.size() with zero bytes. XOR is commutative and associative, so folding
// per-item hashes with XorInto gives a digest independent of item order.
// Precondition: acc->empty() || acc->size() == h.size() (checked in debug
// builds; otherwise only the common prefix is combined).
void XorInto(std::string* acc, absl::string_view h);

// Characters GenerateInitialPassword draws from. Visually ambiguous characters
// (0 O 1 l I) are excluded so passwords can be read out over the phone or
// copied from a printed letter.
inline constexpr absl::string_view kInitialPasswordLower =
    "abcdefghijkmnopqrstuvwxyz";
inline constexpr absl::string_view kInitialPasswordUpper =
    "ABCDEFGHJKLMNPQRSTUVWXYZ";
inline constexpr absl::string_view kInitialPasswordDigits = "23456789";
inline constexpr absl::string_view kInitialPasswordSymbols = "@#%+=";
inline constexpr size_t kInitialPasswordLength = 14;

// A random initial password of kInitialPasswordLength characters from the
// union of the four sets above, containing at least one character of each set
// (so it always satisfies CheckPasswordPolicy). Each character is drawn with
// RAND_bytes and rejection sampling (no modulo bias); candidates lacking a
// class are discarded and redrawn, so the result is uniform over all valid
// passwords (about 82 bits of entropy). INTERNAL if the DRBG fails.
absl::StatusOr<std::string> GenerateInitialPassword();

inline constexpr size_t kMinPasswordBytes = 10;
inline constexpr size_t kMaxPasswordBytes = 128;

// The password policy for user-chosen passwords: kMinPasswordBytes to
// kMaxPasswordBytes bytes (UTF-8 bytes, not characters), not a single
// repeated character, and at least three of the four classes: ASCII
// lowercase, ASCII uppercase, ASCII digit, other (punctuation, space,
// non-ASCII such as Chinese characters). OK or INVALID_ARGUMENT with an
// English message naming what is missing.
absl::Status CheckPasswordPolicy(absl::string_view password);

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_CRYPTO_H_
