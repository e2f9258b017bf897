// The node's keys for personal data at rest (issue 5, item 6; docs/KEYS.md).
//
// A key file, kept outside the data directory and readable only by the node's
// service account (mode 0600), holds:
//   - data keys: AES-256 keys, node-local, each with a number. ID and phone
//     numbers are stored encrypted with AES-256-GCM under the active one;
//     older ones stay in the file until every record has been re-encrypted
//     (`unionsync-node --reseal`), so a key can be rotated without downtime;
//   - the index key: one HMAC-SHA256 key shared by every node of the city, so
//     that the keyed hash of an ID number is the same everywhere and the hub
//     finds one person in two unions by comparing hashes, never plaintext.
//
// Format (UTF-8 text, one item per line, '#' starts a comment):
//   index <n> <64 hex digits>
//   data <n> <64 hex digits>      (one or more)
//   active <n>                    (the data key new records are sealed with)
//
// Thread-safety: a Vault is immutable after loading; every method is
// thread-safe.
#ifndef UNIONSYNC_VAULT_VAULT_H_
#define UNIONSYNC_VAULT_VAULT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace unionsync {

class Vault {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;
  // Version byte, key number (4 bytes), nonce, tag.
  static constexpr size_t kOverheadBytes = 1 + 4 + kNonceBytes + kTagBytes;

  // Reads a key file. FAILED_PRECONDITION when the file is missing, not a
  // regular file, or readable or writable by group or others;
  // INVALID_ARGUMENT, naming the line, when its contents are malformed.
  static absl::StatusOr<std::shared_ptr<const Vault>> LoadFile(
      const std::string& path);
  // Parses key-file text; `source` names it in errors.
  static absl::StatusOr<std::shared_ptr<const Vault>> Parse(
      absl::string_view text, absl::string_view source);
  // Key-file text for the given keys (raw 32-byte strings).
  static std::string Format(uint32_t index_id, absl::string_view index_key,
                            const std::map<uint32_t, std::string>& data_keys,
                            uint32_t active);

  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Encrypts `plaintext` under the active data key with a fresh random nonce;
  // `aad` (the record's identity) is authenticated, not stored. The result
  // names the key, so it can be opened after a rotation.
  absl::StatusOr<std::string> Seal(absl::string_view plaintext,
                                   absl::string_view aad) const;
  // Inverse of Seal. FAILED_PRECONDITION when the data key it names is not in
  // the key file; DATA_LOSS when it is malformed or fails authentication
  // (tampered, moved to another record, or sealed under another key with the
  // same number). `*key_id`, when given, receives the key's number.
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view aad,
                                   uint32_t* key_id = nullptr) const;
  // The data key number a sealed value names (0 when malformed).
  static uint32_t KeyOf(absl::string_view sealed);

  // HMAC-SHA256 under the city-wide index key of `domain` and `value`: 32 raw
  // bytes, equal at every node for equal inputs.
  std::string IndexToken(absl::string_view domain,
                         absl::string_view value) const;
  // A public check value of the index key (hex), recorded by a store to
  // notice that it is opened with another index key.
  std::string IndexKeyCheck() const;
  // Likewise for a data key: "<number>:<check>", or "" when the file does not
  // hold that key. Two keys under one number (another node's file, a
  // restored old file rotated again) have different checks.
  std::string DataKeyCheck(uint32_t id) const;

  uint32_t active_key() const { return active_; }
  uint32_t index_key_id() const { return index_id_; }
  std::vector<uint32_t> data_key_ids() const;

 private:
  Vault() = default;
  // Precomputes the HMAC's inner and outer hash states under the index key.
  absl::Status InitIndexHash();
  uint32_t index_id_ = 0;
  // SHA-256 states after absorbing key ^ ipad and key ^ opad (EVP_MD_CTX*).
  void* inner_ = nullptr;
  void* outer_ = nullptr;
  std::string index_key_;
  std::map<uint32_t, std::string> data_keys_;
  uint32_t active_ = 0;
};

}  // namespace unionsync

#endif  // UNIONSYNC_VAULT_VAULT_H_
