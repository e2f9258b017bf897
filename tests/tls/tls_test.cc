#include "tls/tls.h"

#include <gmock/gmock.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "testing/shell.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::StatusIs;

constexpr char kCertsDir[] = UNIONSYNC_CERTS_DIR;
constexpr char kMethod[] = "/unionsync.test.Tls/WhoAmI";

using ::unionsync::testing::ShellQuote;

// Runs a bash script; fails the current test on a non-zero exit status.
void RunShell(const std::string& script) {
  const std::string cmd = "bash -euo pipefail -c " + ShellQuote(script);
  const int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << cmd;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Answers every call with the caller's organisation id (PeerOrgId).
class WhoAmIService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(grpc::GenericCallbackServerContext* ctx) : ctx_(ctx) {
        StartRead(&request_);
      }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
          return;
        }
        absl::StatusOr<std::string> org = PeerOrgId(*ctx_->auth_context());
        if (!org.ok()) {
          Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                              std::string(org.status().message())));
          return;
        }
        grpc::Slice slice(*org);
        response_ = grpc::ByteBuffer(&slice, 1);
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      grpc::GenericCallbackServerContext* ctx_;
      grpc::ByteBuffer request_;
      grpc::ByteBuffer response_;
    };
    return new Reactor(ctx);
  }
};

class TlsTest : public ::testing::Test {
 protected:
  // Two CAs: "ca" issues 430100 (the server), 430102 (a good client), an
  // expired certificate and one whose SAN URI disagrees with its CN; "other"
  // issues "rogue".
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "/tls_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    const std::string d = ShellQuote(*dir_);
    const std::string s = ShellQuote(kCertsDir);
    RunShell(absl::StrCat(s, "/make-ca.sh ", d, "/ca 2>/dev/null\n",  //
                          s, "/make-ca.sh ", d, "/other 2>/dev/null\n", s,
                          "/make-node-cert.sh ", d, "/ca 430100 2>/dev/null\n",
                          s, "/make-node-cert.sh ", d,
                          "/ca 430102 2>/dev/null\n", s, "/make-node-cert.sh ",
                          d, "/other rogue 2>/dev/null\n"));
    // Certificates outside the scripts' policy, issued with `openssl ca`
    // (OpenSSL 3.0's `openssl x509 -req` cannot back-date).
    RunShell(absl::StrCat("cd ", d, R"(
mkdir -p ca-db/new && : > ca-db/index.txt && echo 01 > ca-db/serial
cat > ca-db/ca.cnf <<'CNF'
[ca]
default_ca = dev
[dev]
dir = ca-db
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[expired_ext]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = URI:unionsync://org/430103, DNS:localhost, IP:127.0.0.1
[mismatch_ext]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = URI:unionsync://org/430199, DNS:localhost
CNF
issue() {  # NAME CN EXT DAYS-ARGS...
  local name=$1 cn=$2 ext=$3; shift 3
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$name.key" 2>/dev/null
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
  openssl ca -batch -notext -config ca-db/ca.cnf -cert ca/ca.pem \
    -keyfile ca/ca.key -extensions "$ext" -in "$name.csr" -out "$name.pem" \
    "$@" 2>/dev/null
}
issue expired 430103 expired_ext -startdate 20200101000000Z -enddate 20210101000000Z
issue mismatch 430104 mismatch_ext -days 30
)"));
  }

  static void TearDownTestSuite() {
    if (dir_ != nullptr) {
      std::system(("rm -rf -- " + ShellQuote(*dir_)).c_str());
      delete dir_;
      dir_ = nullptr;
    }
  }

  static std::string Path(const std::string& rel) { return *dir_ + "/" + rel; }
  static TlsFiles Files(const std::string& org,
                        const std::string& ca_dir = "ca") {
    return TlsFiles{Path("ca/ca.pem"), Path(ca_dir + "/" + org + ".pem"),
                    Path(ca_dir + "/" + org + ".key")};
  }

  // Starts the WhoAmI server on 127.0.0.1 with 430100's certificate.
  void StartServer() {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<grpc::ServerCredentials> creds,
                         MakeServerCredentials(Files("430100")));
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", creds, &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // One WhoAmI call; returns the org id the server saw, and sets
  // `*server_org` to the server's org id as the client authenticated it.
  absl::StatusOr<std::string> WhoAmI(
      const std::shared_ptr<grpc::ChannelCredentials>& creds,
      std::string* server_org = nullptr) {
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), creds);
    grpc::GenericStub stub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    grpc::Slice slice(std::string("who"));
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, kMethod, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status s) { done.set_value(std::move(s)); });
    const grpc::Status status = done.get_future().get();
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    if (server_org != nullptr) {
      absl::StatusOr<std::string> org = PeerOrgId(*ctx.auth_context());
      if (!org.ok()) return org.status();
      *server_org = *org;
    }
    std::vector<grpc::Slice> slices;
    if (!response.Dump(&slices).ok()) {
      return absl::InternalError("bad response");
    }
    std::string out;
    for (const grpc::Slice& s : slices) {
      out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return out;
  }

  static std::string* dir_;
  WhoAmIService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

std::string* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, ScriptsAreIdempotent) {
  const std::string ca = ReadFile(Path("ca/ca.pem"));
  const std::string cert = ReadFile(Path("ca/430102.pem"));
  const std::string d = ShellQuote(*dir_);
  const std::string s = ShellQuote(kCertsDir);
  RunShell(absl::StrCat(s, "/make-ca.sh ", d, "/ca 2>/dev/null\n", s,
                        "/make-node-cert.sh ", d, "/ca 430102 2>/dev/null"));
  EXPECT_EQ(ReadFile(Path("ca/ca.pem")), ca);
  EXPECT_EQ(ReadFile(Path("ca/430102.pem")), cert);
  RunShell(absl::StrCat("test \"$(stat -c %a ", d, "/ca/ca.key)\" = 600 && ",
                        "test \"$(stat -c %a ", d, "/ca/430102.key)\" = 600"));
}

TEST_F(TlsTest, ScriptRejectsBadOrgId) {
  const std::string cmd =
      absl::StrCat(ShellQuote(kCertsDir), "/make-node-cert.sh ",
                   ShellQuote(*dir_), "/ca 'Bad/../x' 2>/dev/null");
  EXPECT_NE(std::system(cmd.c_str()), 0);
}

TEST_F(TlsTest, SameCaClientConnectsAndBothSidesSeeOrgIds) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<grpc::ChannelCredentials> creds,
                       MakeChannelCredentials(Files("430102")));
  std::string server_org;
  absl::StatusOr<std::string> seen = WhoAmI(creds, &server_org);
  ASSERT_OK(seen);
  EXPECT_EQ(*seen, "430102");
  EXPECT_EQ(server_org, "430100");
}

TEST_F(TlsTest, ClientFromOtherCaIsRejected) {
  StartServer();
  // Our own check refuses a certificate from another CA...
  EXPECT_THAT(MakeChannelCredentials(Files("rogue", "other")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not signed by the CA")));
  // ...and so does the server when the client bypasses it.
  grpc::SslCredentialsOptions opts;
  opts.pem_root_certs = ReadFile(Path("ca/ca.pem"));
  opts.pem_cert_chain = ReadFile(Path("other/rogue.pem"));
  opts.pem_private_key = ReadFile(Path("other/rogue.key"));
  EXPECT_THAT(WhoAmI(grpc::SslCredentials(opts)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, ClientOfOtherCaRejectsServer) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<grpc::ChannelCredentials> creds,
      MakeChannelCredentials({Path("other/ca.pem"), Path("other/rogue.pem"),
                              Path("other/rogue.key")}));
  EXPECT_THAT(WhoAmI(creds), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, ClientWithoutCertificateIsRejected) {
  StartServer();
  grpc::SslCredentialsOptions opts;
  opts.pem_root_certs = ReadFile(Path("ca/ca.pem"));
  EXPECT_THAT(WhoAmI(grpc::SslCredentials(opts)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, InsecureClientIsRejected) {
  StartServer();
  EXPECT_THAT(WhoAmI(grpc::InsecureChannelCredentials()),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, MismatchedKeyIsRejected) {
  TlsFiles files = Files("430102");
  files.key_pem_path = Path("ca/430100.key");
  EXPECT_THAT(MakeServerCredentials(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not match the certificate")));
  EXPECT_THAT(MakeChannelCredentials(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not match the certificate")));
}

TEST_F(TlsTest, MissingFileIsNotFound) {
  for (int which = 0; which < 3; ++which) {
    TlsFiles files = Files("430102");
    std::string* path = which == 0   ? &files.ca_pem_path
                        : which == 1 ? &files.cert_pem_path
                                     : &files.key_pem_path;
    *path = Path("nope.pem");
    EXPECT_THAT(MakeServerCredentials(files),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.pem")));
    EXPECT_THAT(MakeChannelCredentials(files),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.pem")));
  }
}

TEST_F(TlsTest, DirectoryOrEmptyFileIsRejected) {
  TlsFiles files = Files("430102");
  files.cert_pem_path = Path("ca");
  EXPECT_THAT(MakeServerCredentials(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a regular file")));
  WriteFile(Path("empty.pem"), "");
  files.cert_pem_path = Path("empty.pem");
  EXPECT_THAT(
      MakeServerCredentials(files),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
}

TEST_F(TlsTest, GarbagePemIsRejected) {
  WriteFile(Path("garbage.pem"), "this is not a certificate\n");
  WriteFile(Path("broken.pem"),
            "-----BEGIN CERTIFICATE-----\nnot base64!!\n"
            "-----END CERTIFICATE-----\n");
  TlsFiles files = Files("430102");
  files.ca_pem_path = Path("garbage.pem");
  EXPECT_THAT(MakeServerCredentials(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("holds no PEM certificate")));
  files = Files("430102");
  files.cert_pem_path = Path("broken.pem");
  EXPECT_THAT(
      MakeServerCredentials(files),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("broken.pem")));
  files = Files("430102");
  files.cert_pem_path = Path("ca/430102.key");  // A key is not a certificate.
  EXPECT_THAT(MakeChannelCredentials(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("holds no PEM certificate")));
  files = Files("430102");
  files.key_pem_path = Path("garbage.pem");
  EXPECT_THAT(MakeChannelCredentials(files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("holds no PEM private key")));
}

TEST_F(TlsTest, EncryptedKeyIsRejectedWithoutPrompting) {
  RunShell(absl::StrCat("openssl pkey -in ", ShellQuote(Path("ca/430102.key")),
                        " -aes256 -passout pass:secret -out ",
                        ShellQuote(Path("encrypted.key"))));
  TlsFiles files = Files("430102");
  files.key_pem_path = Path("encrypted.key");
  EXPECT_THAT(
      MakeServerCredentials(files),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encrypted")));
}

TEST_F(TlsTest, CertificateFromOtherCaIsRejected) {
  EXPECT_THAT(MakeServerCredentials(Files("rogue", "other")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not signed by the CA")));
}

TEST_F(TlsTest, ExpiredCertificateIsRejected) {
  const TlsFiles files{Path("ca/ca.pem"), Path("expired.pem"),
                       Path("expired.key")};
  EXPECT_THAT(MakeServerCredentials(files),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has expired (not valid after Jan  1 "
                                 "00:00:00 2021 GMT)")));
  EXPECT_THAT(
      MakeChannelCredentials(files),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
}

TEST_F(TlsTest, OrgIdFromCertificateFile) {
  ASSERT_OK_AND_ASSIGN(std::string org,
                       OrgIdFromCertificateFile(Path("ca/430102.pem")));
  EXPECT_EQ(org, "430102");
  ASSERT_OK_AND_ASSIGN(org, OrgIdFromCertificateFile(Path("other/rogue.pem")));
  EXPECT_EQ(org, "rogue");
  EXPECT_THAT(OrgIdFromCertificateFile(Path("ca/ca.pem")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not an organisation id")));
  EXPECT_THAT(OrgIdFromCertificateFile(Path("mismatch.pem")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("disagrees with the subject CN")));
  EXPECT_THAT(OrgIdFromCertificateFile(Path("nope.pem")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(OrgIdFromCertificateFile(Path("ca/430102.key")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace unionsync
