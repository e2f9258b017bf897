#include "tls/tls.h"

#include <fcntl.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

namespace unionsync {
namespace {

// PEM files of a CA, a certificate chain or a key are a few kilobytes.
constexpr off_t kMaxPemFileBytes = 1 << 20;
constexpr absl::string_view kOrgUriPrefix = "unionsync://org/";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Drains this thread's OpenSSL error queue into "; "-separated reasons.
std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long e;  // NOLINT(runtime/int): OpenSSL's type.
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// Reads a whole (small, regular) file.
absl::StatusOr<std::string> ReadPemFile(absl::string_view what,
                                        absl::string_view path) {
  const std::string p(path);
  if (p.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS ", what, ": no file given"));
  }
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string msg = absl::StrCat("TLS ", what, " file '", p,
                                         "' cannot be opened: ", strerror(err));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
    return absl::InvalidArgumentError(msg);
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS ", what, " file '", p, "' is not a regular file"));
  }
  if (st.st_size > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS ", what, " file '", p, "' is too large (", st.st_size,
                     " bytes) to be a PEM file"));
  }
  std::string data;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return absl::PermissionDeniedError(absl::StrCat(
          "TLS ", what, " file '", p, "' cannot be read: ", strerror(err)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > static_cast<size_t>(kMaxPemFileBytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS ", what, " file '", p, "' is too large to be a PEM file"));
    }
  }
  if (data.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS ", what, " file '", p, "' is empty"));
  }
  return data;
}

BioPtr MemBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// All "CERTIFICATE" blocks of a PEM text, in order; at least one.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(absl::string_view what,
                                                       absl::string_view path,
                                                       const std::string& pem) {
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) {
    return absl::InternalError(
        absl::StrCat("BIO_new_mem_buf: ", DrainOpenSslErrors()));
  }
  std::vector<X509Ptr> certs;
  while (true) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) break;
    certs.emplace_back(x);
  }
  // Reading stops with "no start line" at the end of the text; anything else
  // means a malformed block.
  const unsigned long last = ERR_peek_last_error();  // NOLINT(runtime/int)
  const bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM &&
                         ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (certs.empty() || !clean_end) {
    const std::string detail = DrainOpenSslErrors();
    if (certs.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS ", what, " file '", path,
                       "' holds no PEM certificate (-----BEGIN CERTIFICATE-----"
                       "): ",
                       detail));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("TLS ", what, " file '", path,
                     "' holds a malformed PEM certificate after the first ",
                     certs.size(), ": ", detail));
  }
  ERR_clear_error();
  return certs;
}

int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* u) {
  *static_cast<bool*>(u) = true;
  return -1;
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(absl::string_view path,
                                        const std::string& pem) {
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) {
    return absl::InternalError(
        absl::StrCat("BIO_new_mem_buf: ", DrainOpenSslErrors()));
  }
  bool wanted_passphrase = false;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase,
                                      &wanted_passphrase));
  if (key == nullptr) {
    const std::string detail = DrainOpenSslErrors();
    if (wanted_passphrase) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS private key file '", path,
          "' is encrypted; unionsync needs an unencrypted key (mode 0600)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("TLS private key file '", path,
                     "' holds no PEM private key: ", detail));
  }
  ERR_clear_error();
  return key;
}

std::string AsnTimeString(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || t == nullptr || ASN1_TIME_print(bio.get(), t) != 1) {
    ERR_clear_error();
    return "?";
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(len));
}

std::string SubjectString(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || cert == nullptr ||
      X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0,
                         XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return "?";
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(len));
}

// The PEM texts of one node's files, after checking that they fit together.
struct CheckedPem {
  std::string ca;
  std::string cert_chain;
  std::string key;
};

// `purpose` is X509_PURPOSE_SSL_SERVER or X509_PURPOSE_SSL_CLIENT: the role
// the node's own certificate plays.
absl::StatusOr<CheckedPem> LoadAndCheck(const TlsFiles& files, int purpose) {
  CheckedPem out;
  ASSIGN_OR_RETURN(out.ca, ReadPemFile("CA certificate", files.ca_pem_path));
  ASSIGN_OR_RETURN(out.cert_chain,
                   ReadPemFile("certificate", files.cert_pem_path));
  ASSIGN_OR_RETURN(out.key, ReadPemFile("private key", files.key_pem_path));

  ASSIGN_OR_RETURN(
      std::vector<X509Ptr> ca_certs,
      ParseCertificates("CA certificate", files.ca_pem_path, out.ca));
  ASSIGN_OR_RETURN(
      std::vector<X509Ptr> chain,
      ParseCertificates("certificate", files.cert_pem_path, out.cert_chain));
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(files.key_pem_path, out.key));
  X509* leaf = chain.front().get();

  if (X509_check_private_key(leaf, key.get()) != 1) {
    const std::string detail = DrainOpenSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("TLS private key '", files.key_pem_path,
                     "' does not match the certificate '", files.cert_pem_path,
                     "' (", SubjectString(leaf), "): ", detail));
  }

  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), CertStackFree> untrusted(sk_X509_new_null());
  if (store == nullptr || ctx == nullptr || untrusted == nullptr) {
    return absl::InternalError(
        absl::StrCat("X509_STORE allocation: ", DrainOpenSslErrors()));
  }
  for (const X509Ptr& ca : ca_certs) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      // A duplicate certificate in the bundle is harmless.
      ERR_clear_error();
    }
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (sk_X509_push(untrusted.get(), chain[i].get()) <= 0) {
      return absl::InternalError(
          absl::StrCat("sk_X509_push: ", DrainOpenSslErrors()));
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
    return absl::InternalError(
        absl::StrCat("X509_STORE_CTX_init: ", DrainOpenSslErrors()));
  }
  if (X509_verify_cert(ctx.get()) == 1) {
    ERR_clear_error();
    return out;
  }
  const int err = X509_STORE_CTX_get_error(ctx.get());
  const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
  ERR_clear_error();
  const std::string which =
      depth == 0 ? absl::StrCat("TLS certificate '", files.cert_pem_path, "'")
                 : absl::StrCat("certificate ", SubjectString(bad),
                                " in the chain of '", files.cert_pem_path,
                                "' or CA file '", files.ca_pem_path, "'");
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::FailedPreconditionError(
          absl::StrCat(which, " has expired (not valid after ",
                       AsnTimeString(X509_get0_notAfter(bad)), ")"));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::FailedPreconditionError(
          absl::StrCat(which, " is not yet valid (not valid before ",
                       AsnTimeString(X509_get0_notBefore(bad)), ")"));
    case X509_V_ERR_INVALID_PURPOSE:
      return absl::InvalidArgumentError(
          absl::StrCat(which, " may not be used as a TLS ",
                       purpose == X509_PURPOSE_SSL_SERVER ? "server" : "client",
                       " certificate (extended key usage); issue it with "
                       "certs/make-node-cert.sh"));
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return absl::InvalidArgumentError(absl::StrCat(
          which, " (", SubjectString(leaf), ") is not signed by the CA in '",
          files.ca_pem_path, "': ", X509_verify_cert_error_string(err)));
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          which, " does not verify against the CA in '", files.ca_pem_path,
          "': ", X509_verify_cert_error_string(err)));
  }
}

// [a-z0-9.-]{1,64}, not starting with '.' or '-' (ValidateIdentifier's rule;
// repeated here so that this library does not depend on unionsync_common).
bool IsValidOrgId(absl::string_view id) {
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') {
    return false;
  }
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

// Printable form of an untrusted name for error messages.
std::string Quoted(absl::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(c));
    }
  }
  if (s.size() > 80) out += "...";
  return out + "\"";
}

}  // namespace

namespace {

// Server credentials presenting the node's certificate, requiring (or not)
// a client certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsFiles& files, bool require_client_certificate) {
  ASSIGN_OR_RETURN(CheckedPem pem,
                   LoadAndCheck(files, X509_PURPOSE_SSL_SERVER));
  grpc::SslServerCredentialsOptions options(
      require_client_certificate
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (require_client_certificate) options.pem_root_certs = std::move(pem.ca);
  options.pem_key_cert_pairs.push_back(
      {std::move(pem.key), std::move(pem.cert_chain)});
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::SslServerCredentials(options);
  if (creds == nullptr) {
    return absl::InternalError("grpc::SslServerCredentials failed");
  }
  return creds;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  return ServerCredentials(files, /*require_client_certificate=*/true);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeServerTlsCredentials(const TlsFiles& files) {
  return ServerCredentials(files, /*require_client_certificate=*/false);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeClientTlsCredentials(const std::string& ca_pem_path) {
  ASSIGN_OR_RETURN(std::string ca, ReadPemFile("CA certificate", ca_pem_path));
  ASSIGN_OR_RETURN(std::vector<X509Ptr> ca_certs,
                   ParseCertificates("CA certificate", ca_pem_path, ca));
  (void)ca_certs;
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = std::move(ca);
  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::SslCredentials(options);
  if (creds == nullptr) {
    return absl::InternalError("grpc::SslCredentials failed");
  }
  return creds;
}

absl::Status RequireLoopback(absl::string_view address,
                             absl::string_view flag) {
  absl::string_view host = address;
  if (absl::StartsWith(host, "[")) {
    const size_t close = host.find(']');
    host = close == absl::string_view::npos ? "" : host.substr(1, close - 1);
  } else if (const size_t colon = host.rfind(':');
             colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  const bool loopback = host == "localhost" || host == "::1" ||
                        absl::StartsWith(host, "127.");
  if (!loopback) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", address,
        "': plaintext is allowed only on a loopback address (127.0.0.1, ::1, "
        "localhost); give the node's certificate and key to serve TLS"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsFiles& files) {
  ASSIGN_OR_RETURN(CheckedPem pem,
                   LoadAndCheck(files, X509_PURPOSE_SSL_CLIENT));
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = std::move(pem.ca);
  options.pem_private_key = std::move(pem.key);
  options.pem_cert_chain = std::move(pem.cert_chain);
  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::SslCredentials(options);
  if (creds == nullptr) {
    return absl::InternalError("grpc::SslCredentials failed");
  }
  return creds;
}

absl::StatusOr<std::string> OrgIdFromCertificateFile(absl::string_view path) {
  ASSIGN_OR_RETURN(std::string pem, ReadPemFile("certificate", path));
  ASSIGN_OR_RETURN(std::vector<X509Ptr> certs,
                   ParseCertificates("certificate", path, pem));
  X509* cert = certs.front().get();
  const std::string where = absl::StrCat("TLS certificate '", path, "'");

  X509_NAME* subject = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has no subject CN (the organisation id)"));
  }
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has several subject CNs"));
  }
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(
      &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
  if (len < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": subject CN is not a valid string: ", DrainOpenSslErrors()));
  }
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  if (!IsValidOrgId(cn)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": subject CN ", Quoted(cn),
                     " is not an organisation id ([a-z0-9.-]{1,64}, not "
                     "starting with '.' or '-')"));
  }

  int crit = 0;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> sans(
      static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (sans == nullptr && crit != -1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has a malformed or repeated subjectAltName"));
  }
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
    const absl::string_view value(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
        static_cast<size_t>(ASN1_STRING_length(uri)));
    if (!absl::StartsWith(value, kOrgUriPrefix)) continue;
    if (value.substr(kOrgUriPrefix.size()) != cn) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": SAN URI ", Quoted(value),
                       " disagrees with the subject CN ", Quoted(cn)));
    }
  }
  return cn;
}

absl::StatusOr<std::string> PeerOrgId(const grpc::AuthContext& auth_context) {
  if (!auth_context.IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        "peer is not authenticated (no verified TLS client certificate)");
  }
  const std::vector<grpc::string_ref> cns =
      auth_context.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (cns.empty()) {
    return absl::UnauthenticatedError(
        "peer certificate has no subject CN (organisation id)");
  }
  if (cns.size() > 1) {
    return absl::UnauthenticatedError(
        "peer certificate has several subject CNs");
  }
  std::string cn(cns.front().data(), cns.front().size());
  if (!IsValidOrgId(cn)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "peer certificate CN ", Quoted(cn), " is not an organisation id"));
  }
  for (const char* property :
       {GRPC_PEER_URI_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
    for (const grpc::string_ref& ref :
         auth_context.FindPropertyValues(property)) {
      const absl::string_view value(ref.data(), ref.size());
      if (!absl::StartsWith(value, kOrgUriPrefix)) continue;
      if (value.substr(kOrgUriPrefix.size()) != cn) {
        return absl::UnauthenticatedError(
            absl::StrCat("peer certificate SAN URI ", Quoted(value),
                         " disagrees with its CN ", Quoted(cn)));
      }
    }
  }
  return cn;
}

}  // namespace unionsync
