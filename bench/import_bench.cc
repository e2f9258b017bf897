// Bulk import into a node over the real path (R5): a NodeServer in this
// process (RocksDB, synced commits), the member file generated with the
// member exporter, uploaded through IngestService.Import over gRPC on
// loopback in 256 KiB chunks, as unionctl does. For each file format and
// mode, a fresh node: wall time from the first byte sent to the summary, rows
// per second, and the peak resident set size of the process during the
// import above the RSS before it (VmHWM reset through /proc/self/clear_refs).
// The process holds both the client and the node, so the figure covers both.
//
//   build/bench/import_bench --rows=100000 --dir=/tmp/unionsync_import_bench
//   build/bench/import_bench --via=web --formats=csv,xlsx --modes=all
//
// --via=web sends the file as the workbench does (bench/web_load.h) and then
// reads the member list's 50-row pages of the 100,000-member union.
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/web_load.h"
#include "common/password.h"
#include "common/validation.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "ingest/writer.h"
#include "node/node_server.h"
#include "synth/synth.h"
#include "testing/test_vault.h"
#include "unionsync/v1/ingest.grpc.pb.h"

ABSL_FLAG(int64_t, rows, 100000, "Members in the generated files.");
ABSL_FLAG(std::string, dir, "/tmp/unionsync_import_bench",
          "Scratch directory (files and node stores).");
ABSL_FLAG(std::string, formats, "csv,xlsx", "Formats to run: csv, gbk, xlsx.");
ABSL_FLAG(std::string, modes, "all,valid",
          "Modes to run: all (all or nothing: validate, then commit), valid "
          "(valid rows only: one pass), dry (validate only).");
ABSL_FLAG(bool, keep, false, "Keep the generated files and stores.");
ABSL_FLAG(std::string, via, "grpc",
          "How the file is sent: grpc (IngestService.Import, as unionctl "
          "does) or web (the workbench's upload, POST "
          "/api/v1/IngestService.Import over HTTP, as the browser does; then "
          "also the member list's 50-row pages at the imported union).");
ABSL_FLAG(int, page_reads, 50, "--via=web: reads of each member page.");

namespace unionsync {
namespace {

constexpr char kCity[] = "430100";

int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::stoll(line.substr(key.size() + 1));
    }
  }
  return -1;
}

void ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

double CpuSeconds() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void Die(const absl::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  std::exit(1);
}

v1::Member MakeMember(SynthGenerator& gen, uint64_t n) {
  v1::Member m = gen.Member("g1");
  m.set_id_number(UniqueIdNumber(n));
  const IdNumberInfo info = *ParseIdNumber(m.id_number());
  m.set_gender(info.male ? v1::MALE : v1::FEMALE);
  m.set_join_date(absl::FormatCivilTime(
      absl::CivilDay(info.birth_date.year() + 18, info.birth_date.month(), 1)));
  return m;
}

void Generate(const std::string& path, ingest::FileFormat format,
              ingest::TextEncoding enc, int64_t rows) {
  ingest::ExportOptions eo;
  eo.file.format = format;
  eo.file.encoding = enc;
  auto exporter = ingest::MemberExporter::Create(path, eo);
  if (!exporter.ok()) Die(exporter.status());
  SynthGenerator gen(1);
  for (int64_t i = 0; i < rows; ++i) {
    if (auto s = (*exporter)->Add(MakeMember(gen, i)); !s.ok()) Die(s);
  }
  if (auto s = (*exporter)->Finish(); !s.ok()) Die(s);
}

std::string Activate(Admin& admin, const std::string& user,
                     const std::string& initial) {
  v1::LoginRequest login;
  login.set_username(user);
  login.set_password(initial);
  auto session = admin.Login(CallContext{}, login);
  if (!session.ok()) Die(session.status());
  v1::ChangePasswordRequest req;
  req.set_old_password(initial);
  req.set_new_password("Str0ng-Passw0rd!");
  if (auto r = admin.ChangePassword(CallContext{session->token(), ""}, req);
      !r.ok()) {
    Die(r.status());
  }
  return session->token();
}

std::string Child(Admin& admin, const std::string& token,
                  const std::string& parent, const std::string& id,
                  v1::OrgKind kind, const std::string& region) {
  v1::CreateChildOrgRequest req;
  req.set_parent_id(parent);
  req.mutable_org()->set_id(id);
  req.mutable_org()->set_name(absl::StrCat("基准工会", id));
  req.mutable_org()->set_kind(kind);
  req.mutable_org()->set_region(region);
  req.set_admin_username(absl::StrCat(id, "admin"));
  auto resp = admin.CreateChildOrg(CallContext{token, ""}, req);
  if (!resp.ok()) Die(resp.status());
  return Activate(admin, req.admin_username(), resp->initial_password());
}

struct Sent {
  v1::ImportSummary summary;
  int progress_messages = 0;
  std::chrono::steady_clock::time_point uploaded;
};

// The file through IngestService.Import over gRPC, in 256 KiB chunks.
Sent SendGrpc(NodeServer& node, const std::string& token,
              const std::string& file, const v1::ImportOptions& options) {
  auto stub = v1::IngestService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", node.port()),
                          grpc::InsecureChannelCredentials()));
  std::ifstream in(file, std::ios::binary);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  auto stream = stub->Import(&ctx);
  v1::ImportRequest req;
  *req.mutable_options() = options;
  bool ok = stream->Write(req);
  std::string buf(256 * 1024, '\0');
  while (ok && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() <= 0) break;
    req.set_chunk(buf.data(), static_cast<size_t>(in.gcount()));
    ok = stream->Write(req);
  }
  if (ok) stream->WritesDone();
  Sent sent;
  sent.uploaded = std::chrono::steady_clock::now();
  v1::ImportProgress p;
  while (stream->Read(&p)) {
    ++sent.progress_messages;
    if (p.has_summary()) sent.summary = p.summary();
  }
  grpc::Status s = stream->Finish();
  if (!s.ok()) Die(absl::InternalError(s.error_message()));
  return sent;
}

// The file through the workbench's upload, as the browser sends it: the
// body in one POST, the progress read back as JSON lines.
Sent SendWeb(NodeServer& node, const std::string& file,
             const v1::ImportOptions& options) {
  const int port = node.dashboard_port();
  const bench::WebSession session =
      bench::WebLogIn(port, "g1admin", "Str0ng-Passw0rd!");
  std::string options_json;
  (void)google::protobuf::util::MessageToJsonString(options, &options_json);
  httplib::Headers headers = session.headers;
  std::string encoded;  // encodeURIComponent, as the page sends it.
  for (unsigned char c : options_json) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.') {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += absl::StrFormat("%%%02X", c);
    }
  }
  headers.emplace("X-Upload-Options", encoded);
  std::ifstream in(file, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  Sent sent;
  std::string pending;
  auto client = bench::HttpClient(port, false);
  auto res = client->Post(
      "/api/v1/IngestService.Import", headers, body.size(),
      [&body](size_t offset, size_t length, httplib::DataSink& sink) {
        sink.write(body.data() + offset, length);
        return true;
      },
      "application/octet-stream");
  sent.uploaded = std::chrono::steady_clock::now();
  if (!res || res->status != 200) {
    Die(absl::InternalError(absl::StrCat("web upload: status ",
                                         res ? res->status : -1, " ",
                                         res ? res->body : "")));
  }
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (line.empty()) continue;
    ++sent.progress_messages;
    v1::ImportProgress p;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &p)
             .ok()) {
      Die(absl::InternalError(absl::StrCat("web upload: ", line)));
    }
    if (p.has_summary()) sent.summary = p.summary();
  }
  return sent;
}

// The member list's 50-row pages at a union of `rows` members, through the
// workbench's JSON endpoint: the first page, a page deep in the list, and a
// search by name prefix.
void MeasureMemberPages(NodeServer& node, int64_t rows) {
  const int port = node.dashboard_port();
  const bench::WebSession session =
      bench::WebLogIn(port, "g1admin", "Str0ng-Passw0rd!");
  auto client = bench::HttpClient(port, true);
  // Walk to the page at the middle of the list for its token.
  std::string token;
  for (int64_t page = 0; page < rows / 100; ++page) {
    auto r = client->Post(
        "/api/v1/AdminService.ListMembers", session.headers,
        absl::StrCat("{\"orgId\":\"g1\",\"pageSize\":50,\"pageToken\":\"",
                     token, "\"}"),
        "application/json");
    v1::ListMembersResponse resp;
    if (!r || r->status != 200 ||
        !google::protobuf::util::JsonStringToMessage(r->body, &resp).ok()) {
      Die(absl::InternalError("ListMembers while paging"));
    }
    token = resp.next_page_token();
  }
  const int reads = absl::GetFlag(FLAGS_page_reads);
  for (auto [label, json] : std::vector<std::pair<std::string, std::string>>{
           {"first page", "{\"orgId\":\"g1\",\"pageSize\":50}"},
           {absl::StrCat("page at row ", rows / 2),
            absl::StrCat("{\"orgId\":\"g1\",\"pageSize\":50,"
                         "\"pageToken\":\"",
                         token, "\"}")},
           {"name prefix 张",
            "{\"orgId\":\"g1\",\"pageSize\":50,\"namePrefix\":\"张\"}"}}) {
    std::vector<double> ms;
    size_t bytes = 0;
    for (int i = 0; i < reads; ++i) {
      auto [took, size] = bench::PostJson(*client, "AdminService.ListMembers",
                                          json, session.headers);
      ms.push_back(took);
      bytes = size;
    }
    std::printf("member list, 50 rows, %lld members, %s (%zu bytes): %s\n",
                static_cast<long long>(rows), label.c_str(), bytes,
                bench::Text(bench::Summarise(ms)).c_str());
  }
}

void RunOne(const std::string& file, const std::string& label,
            const std::string& mode, int64_t rows) {
  const bool valid_only = mode == "valid";
  const bool dry = mode == "dry";
  const std::string store =
      absl::StrCat(absl::GetFlag(FLAGS_dir), "/node-", label, "-", mode);
  std::filesystem::remove_all(store);
  NodeOptions o;
  o.node_id = kCity;
  o.vault = testing::TestVault(kCity);
  o.data_dir = store;
  o.listen = "127.0.0.1:0";
  o.insecure_plaintext = true;
  o.admin.scrypt = ScryptParams::ForTests();
  const bool web = absl::GetFlag(FLAGS_via) == "web";
  if (web) o.dashboard_listen = "127.0.0.1:0";
  auto node = NodeServer::Start(o);
  if (!node.ok()) Die(node.status());
  v1::Org city;
  city.set_id(kCity);
  city.set_name("长沙市总工会");
  city.set_kind(v1::CITY_FEDERATION);
  city.set_tier(1);
  auto pw = (*node)->admin().Bootstrap(city, "admin");
  if (!pw.ok()) Die(pw.status());
  Admin& admin = (*node)->admin();
  const std::string city_token = Activate(admin, "admin", *pw);
  const std::string d1 =
      Child(admin, city_token, kCity, "d1", v1::DISTRICT_FEDERATION, "430102");
  const std::string g1 =
      Child(admin, d1, "d1", "g1", v1::INDEPENDENT_GRASSROOTS, "");

  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(file));
  v1::ImportOptions opt;
  opt.set_kind(v1::TEMPLATE_MEMBER);
  opt.set_org_id("g1");
  opt.set_size_bytes(size);
  opt.set_dry_run(dry);
  opt.set_mode(valid_only ? v1::IMPORT_VALID_ROWS_ONLY
                          : v1::IMPORT_ALL_OR_NOTHING);
  const int64_t rss_before = StatusKb("VmRSS");
  ResetPeak();
  const double cpu_start = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  Sent sent =
      web ? SendWeb(**node, file, opt) : SendGrpc(**node, g1, file, opt);
  const v1::ImportSummary& summary = sent.summary;
  const int progress_messages = sent.progress_messages;
  const auto uploaded = sent.uploaded;
  const auto end = std::chrono::steady_clock::now();
  const int64_t peak = StatusKb("VmHWM");
  const double cpu = CpuSeconds() - cpu_start;
  const double secs = std::chrono::duration<double>(end - start).count();
  const double upload = std::chrono::duration<double>(uploaded - start).count();
  std::printf(
      "%-5s %-4s %-16s rows %7lld  file %6.1f MiB  %6.2f s (upload %.2f s, CPU "
      "%.2f s)  %8.0f rows/s  created %lld  peak RSS +%lld MiB (before %lld "
      "MiB)  progress msgs %d\n",
      label.c_str(), web ? "web" : "grpc",
      dry ? "dry-run" : (valid_only ? "valid-rows-only" : "all-or-nothing"),
      static_cast<long long>(rows), static_cast<double>(size) / (1 << 20), secs,
      upload, cpu, static_cast<double>(rows) / secs,
      static_cast<long long>(summary.counts().created()),
      static_cast<long long>((peak - rss_before) / 1024),
      static_cast<long long>(rss_before / 1024), progress_messages);
  std::fflush(stdout);
  if (!summary.ok() || summary.counts().created() != rows) {
    std::fprintf(stderr, "unexpected summary: %s\n", summary.message().c_str());
    std::exit(1);
  }
  if (web && !dry) MeasureMemberPages(**node, rows);
  (*node)->Shutdown();
  node->reset();
  if (!absl::GetFlag(FLAGS_keep)) std::filesystem::remove_all(store);
}

}  // namespace
}  // namespace unionsync

int main(int argc, char** argv) {
  using namespace unionsync;  // NOLINT
  absl::ParseCommandLine(argc, argv);
  const int64_t rows = absl::GetFlag(FLAGS_rows);
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::create_directories(dir);
  for (absl::string_view f :
       absl::StrSplit(absl::GetFlag(FLAGS_formats), ',')) {
    ingest::FileFormat format =
        f == "xlsx" ? ingest::FileFormat::kXlsx : ingest::FileFormat::kCsv;
    ingest::TextEncoding enc =
        f == "gbk" ? ingest::TextEncoding::kGbk : ingest::TextEncoding::kUtf8;
    const std::string file =
        absl::StrCat(dir, "/members-", rows, ".", f == "xlsx" ? "xlsx" : f,
                     f == "xlsx" ? "" : ".csv");
    Generate(file, format, enc, rows);
    for (absl::string_view m :
         absl::StrSplit(absl::GetFlag(FLAGS_modes), ',')) {
      RunOne(file, std::string(f), std::string(m), rows);
    }
    if (!absl::GetFlag(FLAGS_keep)) std::filesystem::remove(file);
  }
  return 0;
}
