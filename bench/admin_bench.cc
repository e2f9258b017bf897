// What TLS and masking cost the Admin API (issue "Confidentiality that
// holds"): the same node, in this process, served once in the development
// plaintext mode and once over TLS with the node's certificate; clients on
// loopback call ListMembers (a page of 100 masked members) and GetMember (one
// masked member) in a closed loop for --seconds each, with --clients threads
// sharing one channel (as unionctl or the web layer would). Prints calls per
// second for each mode and their ratio, and the CPU time masking adds per
// call (MaskMember over the members a call returns, timed in a loop).
//
//   build-bench/bench/admin_bench --members=1000 --seconds=10 --clients=4
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/mask.h"
#include "common/password.h"
#include "grpcpp/grpcpp.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/shell.h"
#include "testing/test_vault.h"
#include "tls/tls.h"
#include "unionsync/v1/admin.grpc.pb.h"

ABSL_FLAG(int, members, 1000, "Members of the union the clients read.");
ABSL_FLAG(int, seconds, 10, "Seconds of calls per mode.");
ABSL_FLAG(int, clients, 4, "Client threads.");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_admin_bench", "Scratch directory.");
ABSL_FLAG(int, rounds, 2,
          "Rounds; each runs both modes, in alternating order (the disk's "
          "fsync time drifts, so one order alone would favour a mode).");

namespace unionsync {
namespace {

constexpr char kCity[] = "430100";
constexpr char kStrong[] = "Str0ng-Passw0rd!";

using Stub = v1::AdminService::Stub;

template <typename Req, typename Resp>
grpc::Status Call(Stub* stub,
                  grpc::Status (Stub::*m)(grpc::ClientContext*, const Req&,
                                          Resp*),
                  const std::string& token, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  return (stub->*m)(&ctx, req, resp);
}

std::string Activate(NodeServer& node, const std::string& user,
                     const std::string& initial) {
  v1::LoginRequest login;
  login.set_username(user);
  login.set_password(initial);
  auto session = node.admin().Login(CallContext{}, login);
  if (!session.ok()) std::abort();
  v1::ChangePasswordRequest change;
  change.set_old_password(initial);
  change.set_new_password(kStrong);
  if (!node.admin()
           .ChangePassword(CallContext{session->token(), ""}, change)
           .ok()) {
    std::abort();
  }
  return session->token();
}

struct Result {
  double calls_per_s = 0;
  int64_t calls = 0;
};

Result Run(bool tls, const std::string& dir, const TlsFiles& files) {
  std::filesystem::remove_all(dir + "/db");
  NodeOptions o;
  o.node_id = kCity;
  o.vault = testing::TestVault(kCity);
  o.data_dir = dir + "/db";
  o.listen = "127.0.0.1:0";
  o.admin.scrypt = ScryptParams::ForTests();
  if (tls) {
    o.tls = files;
  } else {
    o.insecure_plaintext = true;
  }
  auto started = NodeServer::Start(o);
  if (!started.ok()) {
    std::fprintf(stderr, "start: %s\n", started.status().ToString().c_str());
    std::exit(1);
  }
  std::unique_ptr<NodeServer> node = *std::move(started);
  v1::Org city;
  city.set_id(kCity);
  city.set_name("长沙市总工会");
  city.set_kind(v1::CITY_FEDERATION);
  city.set_tier(1);
  auto pw = node->admin().Bootstrap(city, "admin");
  const std::string admin = Activate(*node, "admin", *pw);
  v1::CreateChildOrgRequest g;
  g.set_parent_id(kCity);
  g.mutable_org()->set_id("g1");
  g.mutable_org()->set_name("长沙市测试基层工会");
  g.mutable_org()->set_kind(v1::CITY_DIRECT_GRASSROOTS);
  g.set_admin_username("g1admin");
  auto made = node->admin().CreateChildOrg(CallContext{admin, ""}, g);
  if (!made.ok()) std::abort();
  const std::string token =
      Activate(*node, "g1admin", made->initial_password());
  SynthGenerator gen(3);
  std::vector<std::string> ids;
  for (int i = 0; i < absl::GetFlag(FLAGS_members); ++i) {
    v1::AddMemberRequest add;
    *add.mutable_member() = gen.Member("");
    auto added = node->admin().AddMember(CallContext{token, ""}, add);
    if (added.ok()) ids.push_back(added->member().id());
  }

  std::shared_ptr<grpc::ChannelCredentials> creds =
      tls ? *MakeClientTlsCredentials(files.ca_pem_path)
          : grpc::InsecureChannelCredentials();
  auto channel = grpc::CreateChannel(
      absl::StrCat(tls ? "localhost:" : "127.0.0.1:", node->port()), creds);
  auto stub = v1::AdminService::NewStub(channel);
  std::atomic<int64_t> calls{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < absl::GetFlag(FLAGS_clients); ++c) {
    clients.emplace_back([&, c] {
      int64_t i = c;
      while (!stop) {
        grpc::Status s;
        if (i % 2 == 0) {
          v1::ListMembersRequest req;
          req.set_page_size(100);
          v1::ListMembersResponse resp;
          s = Call(stub.get(), &Stub::ListMembers, token, req, &resp);
        } else {
          v1::GetMemberRequest req;
          req.set_member_id(ids[i % ids.size()]);
          v1::GetMemberResponse resp;
          s = Call(stub.get(), &Stub::GetMember, token, req, &resp);
        }
        if (!s.ok()) {
          std::fprintf(stderr, "call: %s\n", s.error_message().c_str());
          std::exit(1);
        }
        ++i;
        ++calls;
      }
    });
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(
      std::chrono::seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (auto& t : clients) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  Result r;
  r.calls = calls;
  r.calls_per_s = calls / secs;
  node.reset();
  return r;
}

// CPU time of masking one call's members: 101 members a pair of calls.
double MaskingMicrosPerCall() {
  SynthGenerator gen(4);
  std::vector<v1::Member> members;
  for (int i = 0; i < 101; ++i) members.push_back(gen.Member("g1"));
  const int rounds = 20000;
  const auto t0 = std::chrono::steady_clock::now();
  size_t sink = 0;
  for (int r = 0; r < rounds; ++r) {
    for (v1::Member m : members) {
      MaskMember(&m);
      sink += m.id_number().size();
    }
  }
  const double us = std::chrono::duration<double, std::micro>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  if (sink == 0) std::abort();
  return us / rounds / 2;  // Two calls (a list of 100 and one member).
}

}  // namespace
}  // namespace unionsync

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace unionsync;  // NOLINT
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::create_directories(dir + "/certs");
  const std::string d = testing::ShellQuote(dir + "/certs");
  const std::string s = testing::ShellQuote(UNIONSYNC_CERTS_DIR);
  const std::string cmd = absl::StrCat(
      "bash -euo pipefail -c ",
      testing::ShellQuote(absl::StrCat(s, "/make-ca.sh ", d, " && ", s,
                                       "/make-node-cert.sh ", d, " ", kCity)),
      " >/dev/null 2>&1");
  if (std::system(cmd.c_str()) != 0) return 1;
  TlsFiles files;
  files.ca_pem_path = dir + "/certs/ca.pem";
  files.cert_pem_path = dir + "/certs/" + kCity + ".pem";
  files.key_pem_path = dir + "/certs/" + kCity + ".key";
  Result plain, tls;
  for (int r = 0; r < absl::GetFlag(FLAGS_rounds); ++r) {
    for (bool with_tls : {r % 2 == 1, r % 2 == 0}) {
      const Result got = Run(with_tls, dir, files);
      std::printf("round %d %-9s %8.0f calls/s\n", r + 1,
                  with_tls ? "TLS" : "plaintext", got.calls_per_s);
      Result& sum = with_tls ? tls : plain;
      sum.calls += got.calls;
      sum.calls_per_s += got.calls_per_s / absl::GetFlag(FLAGS_rounds);
    }
  }
  const double mask_us = MaskingMicrosPerCall();
  std::printf("members %d, clients %d, %d s per mode\n",
              absl::GetFlag(FLAGS_members), absl::GetFlag(FLAGS_clients),
              absl::GetFlag(FLAGS_seconds));
  std::printf("plaintext (development)   %8.0f calls/s (%lld calls)\n",
              plain.calls_per_s, static_cast<long long>(plain.calls));
  std::printf("TLS                       %8.0f calls/s (%lld calls)\n",
              tls.calls_per_s, static_cast<long long>(tls.calls));
  std::printf("TLS / plaintext           %8.3f\n",
              tls.calls_per_s / plain.calls_per_s);
  const double call_us = 1e6 / plain.calls_per_s * absl::GetFlag(FLAGS_clients);
  std::printf(
      "masking CPU per call      %8.2f us (%.2f%% of a call's %.0f us)\n",
      mask_us, 100.0 * mask_us / call_us, call_us);
  std::filesystem::remove_all(dir);
  return 0;
}
