#include "vault/vault.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"

namespace unionsync {
namespace {

constexpr char kVersion = 0x01;
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

void PutBe32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint32_t GetBe32(absl::string_view s) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// A word of the key file for an error message: long words may be keys, so
// only their length is shown.
std::string Shown(absl::string_view word) {
  if (word.size() <= 12) return absl::StrCat("'", word, "'");
  return absl::StrCat("(", word.size(), " characters, not shown)");
}

absl::StatusOr<uint32_t> ParseKeyNumber(absl::string_view word,
                                        absl::string_view where) {
  uint32_t n = 0;
  if (!absl::SimpleAtoi(word, &n) || n == 0 || n > 0x7fffffff) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": key number ", Shown(word),
                     " is not a whole number from 1 to 2147483647"));
  }
  return n;
}

absl::StatusOr<std::string> ParseKey(absl::string_view word,
                                     absl::string_view where) {
  if (word.size() != 2 * Vault::kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a key must be 64 hex digits (32 bytes), not ",
                     word.size(), " characters"));
  }
  auto key = HexDecode(word);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the key is not hexadecimal"));
  }
  return *key;
}

const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

const EVP_CIPHER* AesGcm() {
  static EVP_CIPHER* const cipher =
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// A fresh 96-bit nonce: 12 random bytes drawn once per thread (and again
// after a fork), with a per-thread counter added to the last 8. Nonces of one
// thread never repeat; two threads or processes repeat one only if their
// random bases land within a counter's reach of each other, about 2^-96 per
// pair of values. A random draw per value costs more than the encryption.
absl::StatusOr<std::string> NextNonce() {
  struct State {
    pid_t pid = -1;
    unsigned char base[Vault::kNonceBytes];
    uint64_t counter = 0;
  };
  thread_local State state;
  const pid_t pid = getpid();
  if (state.pid != pid) {
    absl::StatusOr<std::string> base = RandomBytes(Vault::kNonceBytes);
    if (!base.ok()) return base.status();
    memcpy(state.base, base->data(), Vault::kNonceBytes);
    state.pid = pid;
    state.counter = 0;
  }
  std::string nonce(reinterpret_cast<const char*>(state.base),
                    Vault::kNonceBytes);
  uint64_t low = 0;
  for (size_t i = 4; i < Vault::kNonceBytes; ++i) {
    low = (low << 8) | static_cast<unsigned char>(nonce[i]);
  }
  low += ++state.counter;
  for (size_t i = Vault::kNonceBytes; i-- > 4;) {
    nonce[i] = static_cast<char>(low & 0xff);
    low >>= 8;
  }
  return nonce;
}

// One cipher context per thread, reset and reused.
EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx != nullptr) EVP_CIPHER_CTX_reset(ctx.get());
  return ctx.get();
}

}  // namespace

absl::Status Vault::InitIndexHash() {
  // HMAC (RFC 2104) with its two key-dependent hash states computed once, so
  // a token costs two SHA-256 compressions and no allocation.
  constexpr size_t kBlock = 64;
  std::string ipad(kBlock, 0x36), opad(kBlock, 0x5c);
  for (size_t i = 0; i < index_key_.size(); ++i) {
    ipad[i] ^= index_key_[i];
    opad[i] ^= index_key_[i];
  }
  EVP_MD_CTX* inner = EVP_MD_CTX_new();
  EVP_MD_CTX* outer = EVP_MD_CTX_new();
  inner_ = inner;
  outer_ = outer;
  const bool ok = inner != nullptr && outer != nullptr &&
                  Sha256Md() != nullptr &&
                  EVP_DigestInit_ex2(inner, Sha256Md(), nullptr) == 1 &&
                  EVP_DigestUpdate(inner, ipad.data(), kBlock) == 1 &&
                  EVP_DigestInit_ex2(outer, Sha256Md(), nullptr) == 1 &&
                  EVP_DigestUpdate(outer, opad.data(), kBlock) == 1;
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  return ok ? absl::OkStatus() : OpenSslError("HMAC-SHA256 setup");
}

Vault::~Vault() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(inner_));
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(outer_));
  OPENSSL_cleanse(index_key_.data(), index_key_.size());
  for (auto& [id, key] : data_keys_) OPENSSL_cleanse(key.data(), key.size());
}

absl::StatusOr<std::shared_ptr<const Vault>> Vault::LoadFile(
    const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key file '", path, "': ", std::strerror(errno),
        " (create one with certs/make-node-keys.sh; see docs/KEYS.md)"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file '", path, "' is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o",
             static_cast<unsigned>(st.st_mode & 07777));
    return absl::FailedPreconditionError(absl::StrCat(
        "key file '", path, "' is accessible by group or others (mode ", mode,
        "); make it readable by the node's account only: chmod 600"));
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileBytes)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key file '", path, "' is larger than ", kMaxKeyFileBytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file '", path, "' cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string contents = text.str();
  auto vault = Parse(contents, path);
  OPENSSL_cleanse(contents.data(), contents.size());
  return vault;
}

absl::StatusOr<std::shared_ptr<const Vault>> Vault::Parse(
    absl::string_view text, absl::string_view source) {
  std::shared_ptr<Vault> vault(new Vault());
  bool have_index = false;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    const size_t hash = line.find('#');
    if (hash != absl::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    const std::string where = absl::StrCat(source, ":", line_no);
    if (words[0] == "index" || words[0] == "data") {
      if (words.size() != 3) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": want '", words[0], " <number> <64 hex digits>'"));
      }
      absl::StatusOr<uint32_t> n = ParseKeyNumber(words[1], where);
      if (!n.ok()) return n.status();
      absl::StatusOr<std::string> key = ParseKey(words[2], where);
      if (!key.ok()) return key.status();
      if (words[0] == "index") {
        if (have_index) {
          return absl::InvalidArgumentError(absl::StrCat(
              where, ": a second index key (a node has exactly one)"));
        }
        have_index = true;
        vault->index_id_ = *n;
        vault->index_key_ = *std::move(key);
      } else {
        if (vault->data_keys_.count(*n) > 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": data key ", *n, " appears twice"));
        }
        vault->data_keys_[*n] = *std::move(key);
      }
    } else if (words[0] == "active") {
      if (words.size() != 2) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": want 'active <number>'"));
      }
      if (vault->active_ != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": a second 'active' line"));
      }
      absl::StatusOr<uint32_t> n = ParseKeyNumber(words[1], where);
      if (!n.ok()) return n.status();
      vault->active_ = *n;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown item ", Shown(words[0]),
                       " (want index, data or active)"));
    }
  }
  if (!have_index) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no index key ('index <number> <hex>')"));
  }
  if (vault->data_keys_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no data key ('data <number> <hex>')"));
  }
  if (vault->active_ == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no 'active <number>' line naming a data key"));
  }
  if (vault->data_keys_.count(vault->active_) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": the active data key ", vault->active_,
                     " is not in the file"));
  }
  absl::Status hash = vault->InitIndexHash();
  if (!hash.ok()) return hash;
  return std::shared_ptr<const Vault>(std::move(vault));
}

std::string Vault::Format(uint32_t index_id, absl::string_view index_key,
                          const std::map<uint32_t, std::string>& data_keys,
                          uint32_t active) {
  std::string out =
      absl::StrCat("index ", index_id, " ", HexEncode(index_key), "\n");
  for (const auto& [id, key] : data_keys) {
    absl::StrAppend(&out, "data ", id, " ", HexEncode(key), "\n");
  }
  absl::StrAppend(&out, "active ", active, "\n");
  return out;
}

absl::StatusOr<std::string> Vault::Seal(absl::string_view plaintext,
                                        absl::string_view aad) const {
  const std::string& key = data_keys_.at(active_);
  absl::StatusOr<std::string> nonce = NextNonce();
  if (!nonce.ok()) return nonce.status();
  std::string out;
  out.reserve(kOverheadBytes + plaintext.size());
  out.push_back(kVersion);
  PutBe32(active_, &out);
  out.append(*nonce);
  const size_t header = out.size();
  out.resize(header + plaintext.size() + kTagBytes);
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());

  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int len = 0;
  // The nonce is 12 bytes, GCM's default IV length.
  if (ctx == nullptr || AesGcm() == nullptr ||
      EVP_EncryptInit_ex2(ctx, AesGcm(),
                          reinterpret_cast<const unsigned char*>(key.data()),
                          bytes + 5, nullptr) != 1) {
    return OpenSslError("AES-256-GCM setup");
  }
  // The header (version, key number, nonce) is authenticated with the AAD.
  if (EVP_EncryptUpdate(ctx, nullptr, &len, bytes, header) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(
          ctx, bytes + header, &len,
          reinterpret_cast<const unsigned char*>(plaintext.data()),
          static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, bytes + header + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          bytes + header + plaintext.size()) != 1) {
    return OpenSslError("AES-256-GCM encryption");
  }
  return out;
}

uint32_t Vault::KeyOf(absl::string_view sealed) {
  if (sealed.size() < kOverheadBytes || sealed[0] != kVersion) return 0;
  return GetBe32(sealed.substr(1, 4));
}

absl::StatusOr<std::string> Vault::Open(absl::string_view sealed,
                                        absl::string_view aad,
                                        uint32_t* key_id) const {
  if (sealed.size() < kOverheadBytes || sealed[0] != kVersion) {
    return absl::DataLossError(
        absl::StrCat("sealed value of ", sealed.size(),
                     " bytes is malformed (unknown version or too short)"));
  }
  const uint32_t id = GetBe32(sealed.substr(1, 4));
  auto key = data_keys_.find(id);
  if (key == data_keys_.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a record is sealed with data key ", id,
        ", which the key file does not hold (restore the key file that was "
        "used, or a backup of it; docs/KEYS.md)"));
  }
  const size_t header = 1 + 4 + kNonceBytes;
  const size_t body = sealed.size() - header - kTagBytes;
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string out(body, '\0');
  std::string tag(sealed.substr(header + body, kTagBytes));

  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int len = 0;
  if (ctx == nullptr || AesGcm() == nullptr ||
      EVP_DecryptInit_ex2(
          ctx, AesGcm(),
          reinterpret_cast<const unsigned char*>(key->second.data()), in + 5,
          nullptr) != 1) {
    return OpenSslError("AES-256-GCM setup");
  }
  if (EVP_DecryptUpdate(ctx, nullptr, &len, in, header) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                        in + header, static_cast<int>(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) !=
          1) {
    return OpenSslError("AES-256-GCM decryption");
  }
  if (EVP_DecryptFinal_ex(
          ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return absl::DataLossError(absl::StrCat(
        "a sealed value does not authenticate under data key ", id,
        " (tampered, copied from another record, or the key was replaced)"));
  }
  if (key_id != nullptr) *key_id = id;
  return out;
}

std::string Vault::IndexToken(absl::string_view domain,
                              absl::string_view value) const {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> work(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char inner[EVP_MAX_MD_SIZE];
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int inner_len = 0;
  unsigned int out_len = 0;
  const char zero = '\0';
  if (work == nullptr ||
      EVP_MD_CTX_copy_ex(work.get(), static_cast<EVP_MD_CTX*>(inner_)) != 1 ||
      EVP_DigestUpdate(work.get(), domain.data(), domain.size()) != 1 ||
      EVP_DigestUpdate(work.get(), &zero, 1) != 1 ||
      EVP_DigestUpdate(work.get(), value.data(), value.size()) != 1 ||
      EVP_DigestFinal_ex(work.get(), inner, &inner_len) != 1 ||
      EVP_MD_CTX_copy_ex(work.get(), static_cast<EVP_MD_CTX*>(outer_)) != 1 ||
      EVP_DigestUpdate(work.get(), inner, inner_len) != 1 ||
      EVP_DigestFinal_ex(work.get(), out, &out_len) != 1) {
    // Only an allocation failure inside OpenSSL gets here; a token that is
    // not the keyed hash would corrupt the index, so stop.
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string Vault::IndexKeyCheck() const {
  return absl::StrCat(
      index_id_, ":",
      HexEncode(IndexToken("unionsync-index-key-check", "")).substr(0, 16));
}

std::string Vault::DataKeyCheck(uint32_t id) const {
  auto key = data_keys_.find(id);
  if (key == data_keys_.end()) return "";
  return absl::StrCat(
      id, ":",
      HexEncode(HmacSha256(key->second, "unionsync-data-key-check"))
          .substr(0, 16));
}

std::vector<uint32_t> Vault::data_key_ids() const {
  std::vector<uint32_t> out;
  for (const auto& [id, key] : data_keys_) out.push_back(id);
  return out;
}

}  // namespace unionsync
