// Mutual TLS between unionsync nodes: gRPC server and channel credentials built
// from PEM files (see certs/README.md), and the authenticated peer's
// organisation id.
//
// Every node certificate names its organisation in the subject CN (and in a
// SAN URI "unionsync://org/<org id>"); both ends present a certificate and
// verify the other's against the same CA. The Make*Credentials functions check
// the files up front (readable, PEM, key matches certificate, certificate
// chains to the CA and is currently valid) so that a misconfigured node fails
// at start-up with a clear message instead of failing every handshake later.
//
// Thread-safety: every function here is thread-safe (no shared state).
#ifndef UNIONSYNC_TLS_TLS_H_
#define UNIONSYNC_TLS_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class AuthContext;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace unionsync {

// PEM files of one node: the CA certificate(s) that peers must chain to, the
// node's own certificate (optionally followed by intermediates) and its
// unencrypted private key.
struct TlsFiles {
  std::string ca_pem_path;
  std::string cert_pem_path;
  std::string key_pem_path;
};

// Server credentials that present `files.cert_pem_path` and require every
// client to present a certificate that verifies against `files.ca_pem_path`
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY).
// Errors (the message names the offending file):
//   NOT_FOUND          a file does not exist;
//   PERMISSION_DENIED  a file cannot be read;
//   INVALID_ARGUMENT   not a regular file, empty or too large, not PEM, an
//                      encrypted key, key does not match the certificate, the
//                      certificate does not chain to the CA or lacks the
//                      TLS server (here) / client (below) extended key usage;
//   FAILED_PRECONDITION the certificate (or the CA) has expired or is not yet
//                      valid.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Channel credentials that present `files.cert_pem_path` as the client
// certificate and verify the server against `files.ca_pem_path` (the server's
// certificate must also name the target host, e.g. "localhost" or 127.0.0.1
// for development certificates). Same errors as MakeServerCredentials.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const TlsFiles& files);

// Server credentials for the ports people use (Admin API, web workbench):
// the node's certificate, checked as above, and no client certificate (people
// authenticate by login). Same errors as MakeServerCredentials.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeServerTlsCredentials(const TlsFiles& files);

// Channel credentials of a client that verifies the server against the CA
// certificate(s) in `ca_pem_path` and presents none itself (unionctl, the
// demo driver). NOT_FOUND / PERMISSION_DENIED / INVALID_ARGUMENT as above.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeClientTlsCredentials(const std::string& ca_pem_path);

// OK when `address` ("host:port", "[v6]:port") names a loopback host
// (127.0.0.0/8, ::1, localhost): plaintext is allowed there only, and only
// behind an explicit development flag. INVALID_ARGUMENT naming `flag`
// otherwise.
absl::Status RequireLoopback(absl::string_view address, absl::string_view flag);

// The organisation id named by the first certificate in the PEM file `path`:
// its subject CN, which must be a valid organisation id ([a-z0-9.-]{1,64}, not
// starting with '.' or '-'). If the certificate carries SAN URIs of the form
// "unionsync://org/<id>", each must name the same id. Does not verify the
// certificate's signature or validity period. Errors: NOT_FOUND,
// PERMISSION_DENIED, INVALID_ARGUMENT (not PEM, no or several CNs, invalid id,
// SAN disagrees).
absl::StatusOr<std::string> OrgIdFromCertificateFile(absl::string_view path);

// The organisation id of the authenticated peer of a call, e.g.
// `PeerOrgId(*server_context->auth_context())`: the x509_common_name property,
// cross-checked against a "unionsync://org/<id>" SAN URI when the transport
// reports one. UNAUTHENTICATED if the peer is not authenticated, has no CN or
// several, or the CN is not a valid organisation id or disagrees with the SAN.
absl::StatusOr<std::string> PeerOrgId(const grpc::AuthContext& auth_context);

}  // namespace unionsync

#endif  // UNIONSYNC_TLS_TLS_H_
