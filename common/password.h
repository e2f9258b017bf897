// Password hashing with scrypt (RFC 7914, via OpenSSL EVP_PBE_scrypt).
//
// Hashes are stored as self-describing strings
//   scrypt$<N>$<r>$<p>$<salt base64>$<key base64>
// (N, r, p in decimal; 16-byte salt; 32-byte derived key; standard base64 with
// padding), so VerifyPassword keeps working for hashes made with older
// parameters and NeedsRehash can upgrade them at the next successful login.
//
// Thread-safety: all functions are thread-safe. Each hash allocates about
// 128 * r * N bytes for its duration (32 MiB with the defaults); callers that
// verify many passwords concurrently should bound the concurrency.
#ifndef UNIONSYNC_COMMON_PASSWORD_H_
#define UNIONSYNC_COMMON_PASSWORD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unionsync {

// scrypt cost parameters. The defaults (N = 2^15, r = 8, p = 1) need
// 128 * r * N = 32 MiB of memory per hash, which makes GPU/ASIC guessing
// expensive, and take roughly 50-100 ms on the 2-core deployment target
// (measured: ~110 ms on the 2-core development VM with OpenSSL 3.0): slow
// enough to throttle offline attacks on a leaked database, fast enough for
// interactive logins without starving the sync work on two cores. That is
// twice the scrypt paper's interactive-login setting (N = 2^14); parameters
// can be raised later, with NeedsRehash upgrading stored hashes at login.
struct ScryptParams {
  uint64_t n = uint64_t{1} << 15;  // CPU/memory cost; a power of two >= 2.
  uint64_t r = 8;                  // Block size.
  uint64_t p = 1;                  // Parallelisation.

  // Cheap parameters (N = 2^10, 1 MiB, about 1-2 ms) for unit tests only;
  // never use them for stored credentials.
  static ScryptParams ForTests();
};

// Limits applied to every parameter set, including those parsed from stored
// hashes, so that a corrupted or malicious hash string cannot make one
// verification allocate more than 256 MiB or cost more than about 64 times a
// default hash.
inline constexpr uint64_t kScryptMaxN = uint64_t{1} << 20;
inline constexpr uint64_t kScryptMaxR = 32;
inline constexpr uint64_t kScryptMaxP = 64;
inline constexpr uint64_t kScryptMaxRTimesP = 256;
inline constexpr uint64_t kScryptMaxMemoryBytes = uint64_t{256} << 20;

inline constexpr size_t kPasswordSaltBytes = 16;
inline constexpr size_t kPasswordKeyBytes = 32;

// OK if N is a power of two in [2, kScryptMaxN] with N < 2^(16 * r) (RFC 7914
// section 2), 1 <= r <= kScryptMaxR, 1 <= p <= kScryptMaxP,
// r * p <= kScryptMaxRTimesP and the memory needed (dominated by 128 * r * N
// bytes) is at most kScryptMaxMemoryBytes; otherwise INVALID_ARGUMENT naming
// the offending parameter.
absl::Status ValidateScryptParams(const ScryptParams& params);

// Hashes `password` with a fresh 16-byte random salt into the encoded form
// described at the top of this file. INVALID_ARGUMENT for bad params,
// INTERNAL on OpenSSL failure. Does not apply the password policy (see
// CheckPasswordPolicy in common/crypto.h).
absl::StatusOr<std::string> HashPassword(absl::string_view password,
                                         const ScryptParams& params = {});

// Checks `password` against an encoded hash, using the parameters stored in
// it. Returns true/false for a well-formed hash (a wrong password is false,
// not an error). INVALID_ARGUMENT if `encoded` is malformed: wrong field count
// or prefix, non-canonical decimal numbers, parameters failing
// ValidateScryptParams, invalid base64, or salt/key of the wrong length.
// INTERNAL on OpenSSL failure. The final comparison is constant-time.
absl::StatusOr<bool> VerifyPassword(absl::string_view password,
                                    absl::string_view encoded);

// True if `encoded` should be replaced by a fresh HashPassword(…, params):
// it is malformed, or its N, r or p differ from `params`. Callers typically
// rehash right after a successful VerifyPassword.
bool NeedsRehash(absl::string_view encoded, const ScryptParams& params);

// Raw scrypt: derives `dk_len` bytes (1..1024) from password and salt.
// Exposed for known-answer tests (RFC 7914 section 12) and for diagnostics;
// application code should use HashPassword/VerifyPassword. Parameters are
// checked with ValidateScryptParams (INVALID_ARGUMENT); INTERNAL on OpenSSL
// failure.
absl::StatusOr<std::string> ScryptRaw(absl::string_view password,
                                      absl::string_view salt,
                                      const ScryptParams& params,
                                      size_t dk_len);

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_PASSWORD_H_
