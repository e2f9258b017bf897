#include "cli/unionctl.h"

#include <grpcpp/grpcpp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "cli/audit_cmd.h"
#include "cli/backup_cmd.h"
#include "cli/export_cmd.h"
#include "cli/format.h"
#include "cli/ingest_cmd.h"
#include "cli/session.h"
#include "cli/terminal.h"
#include "common/status_macros.h"
#include "tls/tls.h"
#include "unionsync/v1/admin.grpc.pb.h"
#include "unionsync/v1/admin.pb.h"
#include "unionsync/v1/monitor.grpc.pb.h"

namespace unionsync::cli {
namespace {

using Stub = v1::AdminService::Stub;

template <typename Req, typename Resp>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Runs one parsed verb. Handlers parse their arguments first (a failure there
// is a usage error, exit 2), then call the server (exit 1 on failure).
class Runner {
 public:
  Runner(const CommandLine& cl, const Io& io) : cl_(cl), io_(io) {}

  int Run() {
    using Handler = absl::Status (Runner::*)();
    static const std::map<std::string, Handler>* handlers =
        new std::map<std::string, Handler>{
            {"login", &Runner::Login},
            {"logout", &Runner::Logout},
            {"passwd", &Runner::Passwd},
            {"whoami", &Runner::WhoAmI},
            {"org create", &Runner::OrgCreate},
            {"org get", &Runner::OrgGet},
            {"org children", &Runner::OrgChildren},
            {"org update", &Runner::OrgUpdate},
            {"account create", &Runner::AccountCreate},
            {"account list", &Runner::AccountList},
            {"account disable", &Runner::AccountDisable},
            {"account enable", &Runner::AccountEnable},
            {"account reset", &Runner::AccountReset},
            {"member add", &Runner::MemberAdd},
            {"member update", &Runner::UpdateMember},
            {"member transfer", &Runner::MemberTransfer},
            {"member remove", &Runner::MemberRemove},
            {"member get", &Runner::MemberGet},
            {"member list", &Runner::MemberList},
            {"summary", &Runner::Summary},
            {"links", &Runner::Links},
            {"resync", &Runner::Resync},
            {"audit verify", &Runner::Audit},
            {"audit search", &Runner::Audit},
            {"backup create", &Runner::Backup},
            {"backup list", &Runner::Backup},
            {"backup verify", &Runner::Backup},
            {"backup restore", &Runner::Backup},
            {"export request", &Runner::Export},
            {"export approve", &Runner::Export},
            {"export list", &Runner::Export},
            {"export download", &Runner::Export},
            {"export trace", &Runner::Export},
            {"template", &Runner::Ingest},
            {"import members", &Runner::Ingest},
            {"import orgs", &Runner::Ingest},
            {"progress", &Runner::Progress},
            {"warnings", &Runner::Warnings},
            {"conflicts", &Runner::Conflicts},
            {"resolve", &Runner::Resolve},
            {"freshness", &Runner::Freshness},
        };
    auto it = handlers->find(cl_.verb);
    absl::Status status =
        it == handlers->end()
            ? absl::InternalError(absl::StrCat("no handler for ", cl_.verb))
            : (this->*(it->second))();
    io_.out->flush();
    if (status.ok()) return kExitOk;
    ReportError(status);
    return usage_error_ ? kExitUsage : kExitFailure;
  }

 private:
  bool json() const { return cl_.global.json; }

  void ReportError(const absl::Status& status) {
    std::ostream& err = *io_.err;
    if (json()) {
      err << FormatErrorJson(status);
      return;
    }
    err << FormatError(status, rpc_error_);
    if (usage_error_) {
      err << "run `unionctl " << cl_.verb << " --help` for usage\n";
    } else if (rpc_error_) {
      switch (status.code()) {
        case absl::StatusCode::kUnauthenticated:
          if (cl_.verb != "login") {
            err << "hint: the session has ended or is not valid: run `unionctl "
                   "login USER`\n";
          }
          break;
        case absl::StatusCode::kUnavailable:
          err << "hint: is a node serving at " << server_ << "?\n";
          break;
        case absl::StatusCode::kDeadlineExceeded:
          err << "hint: no answer within " << cl_.global.timeout_seconds
              << " s; --timeout SECONDS allows more\n";
          break;
        default:
          break;
      }
    }
  }

  absl::Status Usage(absl::Status s) {
    if (!s.ok()) usage_error_ = true;
    return s;
  }
  template <typename T>
  absl::StatusOr<T> Usage(absl::StatusOr<T> s) {
    if (!s.ok()) usage_error_ = true;
    return s;
  }

  absl::Status NeedSessionPath() const {
    if (cl_.global.session_path.empty()) {
      return absl::FailedPreconditionError(
          "no session file: $HOME is not set; give --session FILE or set "
          "$UNIONSYNC_SESSION");
    }
    return absl::OkStatus();
  }

  // Opens the channel; with_session also loads the token (and, unless --server
  // or $UNIONSYNC_SERVER chose one, the server that issued it).
  absl::Status Connect(bool with_session) {
    server_ = cl_.global.server;
    if (with_session) {
      RETURN_IF_ERROR(NeedSessionPath());
      const std::string& path = cl_.global.session_path;
      ASSIGN_OR_RETURN(Session session, ReadSessionFile(path));
      if (SessionFileTooOpen(path)) {
        *io_.err << "warning: session file " << path
                 << " is accessible by other users; run `chmod 600 " << path
                 << "`\n";
      }
      token_ = session.token;
      if (!cl_.global.server_explicit) server_ = session.server;
      if (!cl_.global.ca_explicit && !cl_.global.insecure_plaintext) {
        ca_ = session.ca;
        plaintext_ = session.plaintext;
      }
    }
    if (cl_.global.ca_explicit) ca_ = cl_.global.ca;
    if (cl_.global.insecure_plaintext) plaintext_ = true;
    if (plaintext_) {
      RETURN_IF_ERROR(RequireLoopback(server_, "--server"));
      creds_ = grpc::InsecureChannelCredentials();
    } else if (ca_.empty()) {
      return absl::FailedPreconditionError(
          "the node speaks TLS: give --ca FILE (the CA certificate that "
          "signed the node's, e.g. var/demo/certs/ca.pem) or set "
          "$UNIONSYNC_CA");
    } else {
      ASSIGN_OR_RETURN(creds_, MakeClientTlsCredentials(ca_));
    }
    channel_ = grpc::CreateChannel(server_, creds_);
    stub_ = v1::AdminService::NewStub(channel_);
    return absl::OkStatus();
  }

  // The session token, and the deadline unless the call is a long stream.
  void Prepare(grpc::ClientContext* ctx, bool deadline = true) {
    if (deadline) {
      ctx->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(
                            std::llround(cl_.global.timeout_seconds * 1000))));
    }
    if (!token_.empty()) {
      ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    }
  }

  absl::Status Done(const grpc::Status& s) {
    rpc_error_ = !s.ok();
    return s.ok() ? absl::OkStatus() : FromGrpc(s);
  }

  // One unary call on any service's stub over the node's channel.
  template <typename S, typename Req, typename Resp>
  absl::Status CallOn(S* stub,
                      grpc::Status (S::*method)(grpc::ClientContext*,
                                                const Req&, Resp*),
                      const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    return Done((stub->*method)(&ctx, req, resp));
  }

  template <typename Req, typename Resp>
  absl::Status Call(Method<Req, Resp> method, const Req& req, Resp* resp) {
    return CallOn(stub_.get(), method, req, resp);
  }

  v1::MonitorService::Stub* Monitor() {
    if (monitor_ == nullptr) monitor_ = v1::MonitorService::NewStub(channel_);
    return monitor_.get();
  }

  // Prints one response: its JSON, or the human text.
  void Emit(const google::protobuf::Message& response,
            const std::string& human) {
    *io_.out << (json() ? FormatJson(response) : human);
  }

  // Fetches one page, or every page with paging.all, of a list call. In JSON
  // mode each page is printed as it arrives; the items are collected in `items`
  // and the last page token is left in `next`.
  template <typename Req, typename Resp, typename ItemsFn, typename Item>
  absl::Status Pages(Method<Req, Resp> method, Req req, const Paging& paging,
                     ItemsFn items_of, std::vector<Item>* items,
                     std::string* next) {
    std::set<std::string> seen;
    for (;;) {
      Resp resp;
      RETURN_IF_ERROR(Call(method, req, &resp));
      if (json()) *io_.out << FormatJson(resp);
      const auto& page = items_of(resp);
      items->insert(items->end(), page.begin(), page.end());
      *next = resp.next_page_token();
      if (!paging.all || next->empty()) return absl::OkStatus();
      if (!seen.insert(*next).second) {
        return absl::InternalError(
            "the server returned a page token twice; stopping");
      }
      req.set_page_token(*next);
    }
  }

  // One line of standard input (--password-stdin), or a prompt on the terminal.
  absl::StatusOr<std::string> ReadPassword(bool from_stdin,
                                           const std::string& prompt) {
    std::string line;
    if (from_stdin) {
      if (!std::getline(*io_.in, line)) {
        return Usage(absl::InvalidArgumentError(
            "--password-stdin: no password on standard input"));
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
    } else if (io_.stdin_is_tty && io_.read_secret) {
      ASSIGN_OR_RETURN(line, io_.read_secret(prompt));
    } else {
      return Usage(absl::InvalidArgumentError(
          "standard input is not a terminal: pass the password with "
          "--password-stdin"));
    }
    if (line.empty()) return absl::InvalidArgumentError("empty password");
    return line;
  }

  absl::Status Login() {
    ASSIGN_OR_RETURN(LoginArgs args, Usage(ParseLogin(cl_.args)));
    RETURN_IF_ERROR(NeedSessionPath());
    ASSIGN_OR_RETURN(
        std::string password,
        ReadPassword(args.password_stdin,
                     absl::StrCat("Password for ", args.username, ": ")));
    RETURN_IF_ERROR(Connect(/*with_session=*/false));
    v1::LoginRequest req;
    req.set_username(args.username);
    req.set_password(password);
    std::fill(password.begin(), password.end(), '\0');
    v1::LoginResponse resp;
    absl::Status status = Call(&Stub::Login, req, &resp);
    req.mutable_password()->assign(req.password().size(), '\0');
    RETURN_IF_ERROR(status);

    Session session;
    session.server = server_;
    session.ca = ca_;
    session.plaintext = plaintext_;
    session.token = resp.token();
    session.username = args.username;
    session.org_id = resp.org_id();
    session.expires_at_ms = resp.expires_at_ms();
    RETURN_IF_ERROR(WriteSessionFile(cl_.global.session_path, session));
    v1::LoginResponse shown = resp;
    shown.clear_token();  // A bearer credential: it stays in the session file.
    Emit(shown,
         absl::StrCat(FormatLogin(resp, args.username, server_),
                      "session saved in ", cl_.global.session_path, "\n"));
    return absl::OkStatus();
  }

  absl::Status Logout() {
    RETURN_IF_ERROR(Usage(ParseLogout(cl_.args)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::LogoutResponse resp;
    absl::Status status = Call(&Stub::Logout, v1::LogoutRequest(), &resp);
    // An ended session is as good as logged out; any other failure keeps the
    // file so the token can still be revoked.
    if (!status.ok() && status.code() != absl::StatusCode::kUnauthenticated) {
      return status;
    }
    rpc_error_ = false;
    RETURN_IF_ERROR(RemoveSessionFile(cl_.global.session_path));
    Emit(resp, status.ok() ? "logged out\n"
                           : "the session had already ended; session file "
                             "removed\n");
    return absl::OkStatus();
  }

  absl::Status Passwd() {
    ASSIGN_OR_RETURN(PasswdArgs args, Usage(ParsePasswd(cl_.args)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::ChangePasswordRequest req;
    ASSIGN_OR_RETURN(*req.mutable_old_password(),
                     ReadPassword(args.password_stdin, "Current password: "));
    ASSIGN_OR_RETURN(*req.mutable_new_password(),
                     ReadPassword(args.password_stdin, "New password: "));
    if (!args.password_stdin) {
      ASSIGN_OR_RETURN(std::string again,
                       ReadPassword(false, "Repeat the new password: "));
      if (again != req.new_password()) {
        return absl::InvalidArgumentError("the new passwords do not match");
      }
    }
    if (req.new_password() == req.old_password()) {
      return absl::InvalidArgumentError(
          "the new password must differ from the current one");
    }
    v1::ChangePasswordResponse resp;
    RETURN_IF_ERROR(Call(&Stub::ChangePassword, req, &resp));
    Emit(resp, "password changed; other sessions of this account have ended\n");
    return absl::OkStatus();
  }

  absl::Status WhoAmI() {
    RETURN_IF_ERROR(Usage(ParseWhoAmI(cl_.args)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::WhoAmIResponse resp;
    RETURN_IF_ERROR(Call(&Stub::WhoAmI, v1::WhoAmIRequest(), &resp));
    Emit(resp, FormatWhoAmI(resp, server_));
    return absl::OkStatus();
  }

  absl::Status OrgCreate() {
    v1::CreateChildOrgRequest req;
    RETURN_IF_ERROR(Usage(ParseOrgCreate(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::CreateChildOrgResponse resp;
    RETURN_IF_ERROR(Call(&Stub::CreateChildOrg, req, &resp));
    Emit(resp, FormatCreatedOrg(resp));
    return absl::OkStatus();
  }

  absl::Status OrgGet() {
    v1::GetOrgRequest req;
    RETURN_IF_ERROR(Usage(ParseOrgGet(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::GetOrgResponse resp;
    RETURN_IF_ERROR(Call(&Stub::GetOrg, req, &resp));
    Emit(resp, FormatOrg(resp.org()));
    return absl::OkStatus();
  }

  absl::Status OrgChildren() {
    v1::ListChildOrgsRequest req;
    Paging paging;
    RETURN_IF_ERROR(Usage(ParseOrgChildren(cl_.args, &req, &paging)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    std::vector<v1::Org> orgs;
    std::string next;
    RETURN_IF_ERROR(Pages(
        &Stub::ListChildOrgs, req, paging,
        [](const v1::ListChildOrgsResponse& r) -> const auto& {
          return r.orgs();
        },
        &orgs, &next));
    if (!json()) {
      *io_.out << FormatOrgTable(orgs);
      if (!next.empty() && !paging.all) *io_.out << FormatMorePages(next);
    }
    return absl::OkStatus();
  }

  absl::Status OrgUpdate() {
    v1::UpdateOrgProfileRequest req;
    RETURN_IF_ERROR(Usage(ParseOrgUpdate(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::UpdateOrgProfileResponse resp;
    RETURN_IF_ERROR(Call(&Stub::UpdateOrgProfile, req, &resp));
    Emit(resp, absl::StrCat("profile updated\n", FormatOrg(resp.org())));
    return absl::OkStatus();
  }

  absl::Status AccountCreate() {
    v1::CreateAccountRequest req;
    RETURN_IF_ERROR(Usage(ParseAccountCreate(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::CreateAccountResponse resp;
    RETURN_IF_ERROR(Call(&Stub::CreateAccount, req, &resp));
    Emit(resp, FormatIssuedPassword(resp.account(), resp.initial_password()));
    return absl::OkStatus();
  }

  absl::Status AccountList() {
    v1::ListAccountsRequest req;
    RETURN_IF_ERROR(Usage(ParseAccountList(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::ListAccountsResponse resp;
    RETURN_IF_ERROR(Call(&Stub::ListAccounts, req, &resp));
    Emit(resp, FormatAccountTable(std::vector<v1::Account>(
                   resp.accounts().begin(), resp.accounts().end())));
    return absl::OkStatus();
  }

  absl::Status AccountDisable() {
    v1::DisableAccountRequest req;
    RETURN_IF_ERROR(Usage(ParseAccountDisable(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::DisableAccountResponse resp;
    RETURN_IF_ERROR(Call(&Stub::DisableAccount, req, &resp));
    Emit(resp, absl::StrCat("account ", req.username(), " disabled\n",
                            FormatAccount(resp.account())));
    return absl::OkStatus();
  }

  absl::Status AccountEnable() {
    v1::EnableAccountRequest req;
    RETURN_IF_ERROR(Usage(ParseAccountEnable(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::EnableAccountResponse resp;
    RETURN_IF_ERROR(Call(&Stub::EnableAccount, req, &resp));
    Emit(resp, absl::StrCat("account ", req.username(), " enabled\n",
                            FormatAccount(resp.account())));
    return absl::OkStatus();
  }

  absl::Status AccountReset() {
    v1::ResetPasswordRequest req;
    RETURN_IF_ERROR(Usage(ParseAccountReset(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::ResetPasswordResponse resp;
    RETURN_IF_ERROR(Call(&Stub::ResetPassword, req, &resp));
    Emit(resp, absl::StrCat("password of ", req.username(), " reset\n",
                            FormatIssuedPassword(resp.account(),
                                                 resp.initial_password())));
    return absl::OkStatus();
  }

  absl::Status MemberAdd() {
    v1::AddMemberRequest req;
    RETURN_IF_ERROR(Usage(ParseMemberAdd(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::AddMemberResponse resp;
    RETURN_IF_ERROR(Call(&Stub::AddMember, req, &resp));
    Emit(resp, absl::StrCat("member added\n", FormatMember(resp.member())));
    return absl::OkStatus();
  }

  absl::Status UpdateMember() {
    ASSIGN_OR_RETURN(MemberUpdate update, Usage(ParseMemberUpdate(cl_.args)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::GetMemberRequest get;
    get.set_member_id(update.member_id);
    v1::GetMemberResponse current;
    RETURN_IF_ERROR(Call(&Stub::GetMember, get, &current));
    v1::UpdateMemberRequest req;
    *req.mutable_member() = current.member();
    RETURN_IF_ERROR(ApplyMemberUpdate(update, req.mutable_member()));
    v1::UpdateMemberResponse resp;
    RETURN_IF_ERROR(Call(&Stub::UpdateMember, req, &resp));
    Emit(resp, absl::StrCat("member updated\n", FormatMember(resp.member())));
    return absl::OkStatus();
  }

  absl::Status MemberTransfer() {
    v1::TransferMemberRequest req;
    RETURN_IF_ERROR(Usage(ParseMemberTransfer(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::TransferMemberResponse resp;
    RETURN_IF_ERROR(Call(&Stub::TransferMember, req, &resp));
    Emit(resp,
         absl::StrCat("member ", req.member_id(), " transferred to ",
                      resp.member().org_id().empty() ? req.to_org_id()
                                                     : resp.member().org_id(),
                      "\n"));
    return absl::OkStatus();
  }

  absl::Status MemberRemove() {
    v1::RemoveMemberRequest req;
    RETURN_IF_ERROR(Usage(ParseMemberRemove(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::RemoveMemberResponse resp;
    RETURN_IF_ERROR(Call(&Stub::RemoveMember, req, &resp));
    Emit(resp, absl::StrCat("member ", req.member_id(), " removed\n"));
    return absl::OkStatus();
  }

  absl::Status MemberGet() {
    v1::GetMemberRequest req;
    RETURN_IF_ERROR(Usage(ParseMemberGet(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::GetMemberResponse resp;
    RETURN_IF_ERROR(Call(&Stub::GetMember, req, &resp));
    Emit(resp, FormatMember(resp.member()));
    return absl::OkStatus();
  }

  absl::Status MemberList() {
    v1::ListMembersRequest req;
    Paging paging;
    RETURN_IF_ERROR(Usage(ParseMemberList(cl_.args, &req, &paging)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    std::vector<v1::Member> members;
    std::string next;
    RETURN_IF_ERROR(Pages(
        &Stub::ListMembers, req, paging,
        [](const v1::ListMembersResponse& r) -> const auto& {
          return r.members();
        },
        &members, &next));
    if (!json()) {
      *io_.out << FormatMemberTable(members);
      if (!next.empty() && !paging.all) *io_.out << FormatMorePages(next);
    }
    return absl::OkStatus();
  }

  absl::Status Summary() {
    v1::GetSubtreeSummaryRequest req;
    RETURN_IF_ERROR(Usage(ParseSummary(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::GetSubtreeSummaryResponse resp;
    RETURN_IF_ERROR(Call(&Stub::GetSubtreeSummary, req, &resp));
    Emit(resp, FormatSummary(resp));
    return absl::OkStatus();
  }

  // audit verify, audit search: cli/audit_cmd.cc.
  absl::Status Audit() {
    return RunAuditVerb(
        cl_, io_,
        [this]() -> absl::StatusOr<AuditConnection> {
          RETURN_IF_ERROR(Connect(/*with_session=*/true));
          return AuditConnection{channel_, token_};
        },
        &usage_error_, &rpc_error_);
  }

  // backup create/list/verify/restore: cli/backup_cmd.cc.
  absl::Status Backup() {
    return RunBackupVerb(
        cl_, io_,
        [this]() -> absl::StatusOr<BackupConnection> {
          RETURN_IF_ERROR(Connect(/*with_session=*/true));
          return BackupConnection{channel_, token_};
        },
        &usage_error_, &rpc_error_);
  }

  // export request/approve/list/download/trace: cli/export_cmd.cc.
  absl::Status Export() {
    return RunExportVerb(
        cl_, io_,
        [this]() -> absl::StatusOr<ExportConnection> {
          RETURN_IF_ERROR(Connect(/*with_session=*/true));
          return ExportConnection{channel_, token_, server_, creds_};
        },
        &usage_error_, &rpc_error_);
  }

  // template, import members, import orgs: cli/ingest_cmd.cc.
  absl::Status Ingest() {
    return RunIngestVerb(
        cl_, io_,
        [this](bool with_session) -> absl::StatusOr<IngestConnection> {
          RETURN_IF_ERROR(Connect(with_session));
          return IngestConnection{channel_, token_};
        },
        &usage_error_, &rpc_error_);
  }

  absl::Status Links() {
    v1::GetReplicationStatusRequest req;
    RETURN_IF_ERROR(Usage(ParseLinks(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::GetReplicationStatusResponse resp;
    RETURN_IF_ERROR(Call(&Stub::GetReplicationStatus, req, &resp));
    const int64_t now_ms =
        io_.now_ms ? io_.now_ms()
                   : std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    Emit(resp, FormatLinks(resp, now_ms));
    return absl::OkStatus();
  }

  absl::Status Resync() {
    v1::ForceResyncRequest req;
    RETURN_IF_ERROR(Usage(ParseResync(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::ForceResyncResponse resp;
    RETURN_IF_ERROR(Call(&Stub::ForceResync, req, &resp));
    Emit(resp,
         absl::StrCat("resync of ", req.child_id(),
                      " started: its checkpoint is forgotten and its link "
                      "restarts; everything is\nresent and compared "
                      "(duplicates are dropped). Follow it with `unionctl "
                      "links`.\n"));
    return absl::OkStatus();
  }

  absl::Status Progress() {
    v1::GetProgressRequest req;
    std::string csv_path;
    RETURN_IF_ERROR(Usage(ParseProgress(cl_.args, &req, &csv_path)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    if (req.view().empty()) {
      // Regions at the node's own organisation, children elsewhere.
      v1::WhoAmIResponse me;
      RETURN_IF_ERROR(Call(&Stub::WhoAmI, v1::WhoAmIRequest(), &me));
      v1::GetOrgRequest oreq;
      oreq.set_org_id(me.org_id());
      v1::GetOrgResponse org;
      RETURN_IF_ERROR(Call(&Stub::GetOrg, oreq, &org));
      req.set_view(org.org().host_node() == org.org().id() ? "regions"
                                                            : "children");
    }
    v1::GetProgressResponse resp;
    RETURN_IF_ERROR(
        CallOn(Monitor(), &v1::MonitorService::Stub::GetProgress, req, &resp));
    Emit(resp, FormatProgress(resp));
    if (!csv_path.empty()) {
      v1::ExportProgressCsvRequest creq;
      creq.set_view(req.view());
      v1::ExportProgressCsvResponse csv;
      RETURN_IF_ERROR(CallOn(
          Monitor(), &v1::MonitorService::Stub::ExportProgressCsv, creq, &csv));
      std::ofstream out(csv_path, std::ios::binary | std::ios::trunc);
      out << csv.csv();
      out.close();
      if (!out) {
        return absl::UnavailableError(absl::StrCat("cannot write ", csv_path));
      }
      if (!json()) *io_.out << "CSV written to " << csv_path << "\n";
    }
    return absl::OkStatus();
  }

  absl::Status Warnings() {
    ASSIGN_OR_RETURN(WarningsArgs args, Usage(ParseWarnings(cl_.args)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    if (args.watch) {
      v1::WatchWarningsRequest req;
      req.set_org_id(args.org_id);
      grpc::ClientContext ctx;
      Prepare(&ctx, /*deadline=*/false);
      auto reader = Monitor()->WatchWarnings(&ctx, req);
      v1::WarningUpdate u;
      int seen = 0;
      while (reader->Read(&u)) {
        *io_.out << (json() ? FormatJson(u) : FormatWarningLine(u.warning()));
        io_.out->flush();
        if (args.max > 0 && ++seen >= args.max) {
          ctx.TryCancel();
          break;
        }
      }
      grpc::Status s = reader->Finish();
      if (args.max > 0 && seen >= args.max) return absl::OkStatus();
      return Done(s);
    }
    v1::ListWarningsRequest req;
    req.set_org_id(args.org_id);
    req.set_include_cleared(args.all);
    req.set_page_size(1000);
    std::vector<v1::Warning> warnings;
    for (std::set<std::string> seen;;) {
      v1::ListWarningsResponse resp;
      RETURN_IF_ERROR(CallOn(Monitor(), &v1::MonitorService::Stub::ListWarnings,
                             req, &resp));
      if (json()) *io_.out << FormatJson(resp);
      warnings.insert(warnings.end(), resp.warnings().begin(),
                      resp.warnings().end());
      if (resp.next_page_token().empty() ||
          !seen.insert(resp.next_page_token()).second) {
        break;
      }
      req.set_page_token(resp.next_page_token());
    }
    if (!json()) *io_.out << FormatWarnings(warnings);
    return absl::OkStatus();
  }

  absl::Status Conflicts() {
    v1::ListConflictsRequest req;
    RETURN_IF_ERROR(Usage(ParseConflicts(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::ListConflictsResponse resp;
    RETURN_IF_ERROR(CallOn(Monitor(), &v1::MonitorService::Stub::ListConflicts,
                           req, &resp));
    Emit(resp, FormatConflicts(resp));
    return absl::OkStatus();
  }

  absl::Status Resolve() {
    v1::ResolveConflictRequest req;
    RETURN_IF_ERROR(Usage(ParseResolve(cl_.args, &req)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::ResolveConflictResponse resp;
    RETURN_IF_ERROR(CallOn(
        Monitor(), &v1::MonitorService::Stub::ResolveConflict, req, &resp));
    Emit(resp, absl::StrCat("conflict ", resp.conflict().id(),
                            " recorded as resolved; its warnings are "
                            "cleared.\n"));
    return absl::OkStatus();
  }

  absl::Status Freshness() {
    RETURN_IF_ERROR(Usage(ParseFreshness(cl_.args)));
    RETURN_IF_ERROR(Connect(/*with_session=*/true));
    v1::GetSyncFreshnessResponse resp;
    RETURN_IF_ERROR(CallOn(Monitor(),
                           &v1::MonitorService::Stub::GetSyncFreshness,
                           v1::GetSyncFreshnessRequest(), &resp));
    Emit(resp, FormatFreshness(resp));
    return absl::OkStatus();
  }

  const CommandLine& cl_;
  const Io& io_;
  std::string server_;
  std::string token_;
  std::string ca_;
  bool plaintext_ = false;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<v1::MonitorService::Stub> monitor_;
  bool usage_error_ = false;
  bool rpc_error_ = false;
};

}  // namespace

Environment EnvironmentFromProcess() {
  Environment env;
  env.server = GetEnv("UNIONSYNC_SERVER");
  env.session = GetEnv("UNIONSYNC_SESSION");
  env.ca = GetEnv("UNIONSYNC_CA");
  env.insecure_plaintext = GetEnv("UNIONSYNC_INSECURE_PLAINTEXT") == "1";
  env.home = GetEnv("HOME");
  if (env.home.empty()) {
    struct passwd pw;
    struct passwd* found = nullptr;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) == 0 &&
        found != nullptr && found->pw_dir != nullptr) {
      env.home = found->pw_dir;
    }
  }
  return env;
}

Io ProcessIo() {
  Io io;
  io.in = &std::cin;
  io.out = &std::cout;
  io.err = &std::cerr;
  io.stdin_is_tty = StdinIsTerminal();
  io.read_secret = ReadSecretFromTerminal;
  return io;
}

int RunUnionctl(const std::vector<std::string>& argv, const Environment& env,
                const Io& io) {
  absl::StatusOr<CommandLine> cl = ParseCommandLine(argv, env);
  if (!cl.ok()) {
    // The command line did not parse, so look for --json among the global
    // options by hand.
    bool json = false;
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a == "--json") {
        json = true;
      } else if (a == "--server" || a == "--session" || a == "--timeout") {
        ++i;
      } else if (a.empty() || a[0] != '-' || a == "--") {
        break;
      }
    }
    if (json) {
      *io.err << FormatErrorJson(cl.status());
    } else {
      *io.err << FormatError(cl.status(), /*with_code=*/false)
              << "run `unionctl --help` for usage\n";
    }
    return kExitUsage;
  }
  if (cl->help) {
    *io.out << HelpText(cl->verb);
    return kExitOk;
  }
  return Runner(*cl, io).Run();
}

}  // namespace unionsync::cli
