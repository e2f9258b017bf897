#include "node/web_api.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "dashboard/workbench.h"
#include "google/protobuf/util/json_util.h"

namespace unionsync {
namespace {

template <typename Message>
absl::Status FromJson(const std::string& json, Message* message) {
  if (json.empty()) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto s = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request is not a valid ", Message::descriptor()->name(), ": ",
        std::string(s.message())));
  }
  return absl::OkStatus();
}

template <typename Message>
absl::StatusOr<std::string> ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  auto s = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot write the response as JSON: ", s.ToString()));
  }
  return out;
}

// An import through the workbench: the job Importer::Begin opened.
class ImportUpload final : public WebUpload {
 public:
  explicit ImportUpload(std::unique_ptr<ImportJob> job)
      : job_(std::move(job)) {}
  absl::Status Append(const char* data, size_t size) override {
    return job_->Append(absl::string_view(data, size));
  }
  absl::StatusOr<std::string> Run(
      const std::function<void(const std::string&)>& progress,
      const std::atomic<bool>* cancelled) override {
    ASSIGN_OR_RETURN(v1::ImportSummary summary,
                     job_->Run(
                         [&progress](const v1::ImportProgress& p) {
                           if (!progress) return;
                           absl::StatusOr<std::string> line = ToJson(p);
                           if (line.ok()) progress(*line);
                         },
                         cancelled));
    v1::ImportProgress last;
    last.set_phase(v1::IMPORT_DONE);
    *last.mutable_counts() = summary.counts();
    *last.mutable_summary() = std::move(summary);
    return ToJson(last);
  }

 private:
  std::unique_ptr<ImportJob> job_;
};

// A dues file through the workbench: held in memory (it holds ID numbers,
// which never touch the disk here) and imported in one call.
class DuesUpload final : public WebUpload {
 public:
  DuesUpload(DuesLedger* dues, RequestContext ctx, v1::ImportDuesRequest req)
      : dues_(dues), ctx_(std::move(ctx)), req_(std::move(req)) {}
  absl::Status Append(const char* data, size_t size) override {
    if (req_.content().size() + size > kMaxUploadBytes) {
      return absl::InvalidArgumentError("the file is too large");
    }
    req_.mutable_content()->append(data, size);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Run(
      const std::function<void(const std::string&)>&,
      const std::atomic<bool>*) override {
    ASSIGN_OR_RETURN(v1::ImportDuesResponse resp,
                     dues_->ImportDues(ctx_, req_));
    return ToJson(resp);
  }

 private:
  DuesLedger* dues_;
  const RequestContext ctx_;
  v1::ImportDuesRequest req_;
};

}  // namespace

WebApi::WebApi(Admin* admin, Monitor* monitor, Exporter* exporter,
               Importer* importer, DuesLedger* dues)
    : importer_(importer), dues_(dues) {
  // One entry per unary RPC: parse, call the domain object, print.
  auto add = [this](const std::string& name, auto call) {
    handlers_[name] = [call](const RequestContext& ctx, const std::string& json)
        -> absl::StatusOr<std::string> { return call(ctx, json); };
  };
#define US_WEB_ADMIN(Name)                                                    \
  add("AdminService." #Name,                                                  \
      [admin](const RequestContext& ctx,                                      \
              const std::string& json) -> absl::StatusOr<std::string> {       \
        v1::Name##Request req;                                                \
        RETURN_IF_ERROR(FromJson(json, &req));                                \
        ASSIGN_OR_RETURN(auto resp,                                           \
                         admin->Name(CallContext{ctx.token, ctx.peer}, req)); \
        return ToJson(resp);                                                  \
      });
#define US_WEB_DOMAIN(Service, object, Name)                             \
  add(#Service "." #Name,                                                \
      [object](const RequestContext& ctx,                                \
               const std::string& json) -> absl::StatusOr<std::string> { \
        v1::Name##Request req;                                           \
        RETURN_IF_ERROR(FromJson(json, &req));                           \
        ASSIGN_OR_RETURN(auto resp, object->Name(ctx, req));             \
        return ToJson(resp);                                             \
      });
  US_WEB_ADMIN(Login)
  US_WEB_ADMIN(ChangePassword)
  US_WEB_ADMIN(CheckNewPassword)
  US_WEB_ADMIN(CreateChildOrg)
  US_WEB_ADMIN(GetOrg)
  US_WEB_ADMIN(ListChildOrgs)
  US_WEB_ADMIN(UpdateOrgProfile)
  US_WEB_ADMIN(CorrectOrgRegistration)
  US_WEB_ADMIN(DissolveOrg)
  US_WEB_ADMIN(RecordTraining)
  US_WEB_ADMIN(SetChildTarget)
  US_WEB_ADMIN(CreateAccount)
  US_WEB_ADMIN(ListAccounts)
  US_WEB_ADMIN(DisableAccount)
  US_WEB_ADMIN(EnableAccount)
  US_WEB_ADMIN(ResetPassword)
  US_WEB_ADMIN(AddMember)
  US_WEB_ADMIN(UpdateMember)
  US_WEB_ADMIN(TransferMember)
  US_WEB_ADMIN(RemoveMember)
  US_WEB_ADMIN(GetMember)
  US_WEB_ADMIN(ListMembers)
  US_WEB_ADMIN(GetSubtreeSummary)
  US_WEB_ADMIN(GetReplicationStatus)
  US_WEB_ADMIN(ForceResync)
  US_WEB_ADMIN(VerifyAudit)
  US_WEB_ADMIN(CreateBackup)
  US_WEB_ADMIN(ListBackups)
  US_WEB_ADMIN(VerifyBackup)
  US_WEB_ADMIN(SearchAudit)
  US_WEB_DOMAIN(MonitorService, monitor, GetProgress)
  US_WEB_DOMAIN(MonitorService, monitor, GetTimeSeries)
  US_WEB_DOMAIN(MonitorService, monitor, ListWarnings)
  US_WEB_DOMAIN(MonitorService, monitor, ListConflicts)
  US_WEB_DOMAIN(MonitorService, monitor, ResolveConflict)
  US_WEB_DOMAIN(MonitorService, monitor, GetSyncFreshness)
  US_WEB_DOMAIN(MonitorService, monitor, ExportProgressCsv)
  US_WEB_DOMAIN(MonitorService, dues, GetDuesCoverage)
  US_WEB_DOMAIN(ExportService, exporter, RequestExport)
  US_WEB_DOMAIN(ExportService, exporter, ApproveExport)
  US_WEB_DOMAIN(ExportService, exporter, ListExportRequests)
  US_WEB_DOMAIN(ExportService, exporter, TraceExport)
  US_WEB_DOMAIN(ExportService, exporter, DownloadExport)
#undef US_WEB_ADMIN
#undef US_WEB_DOMAIN
  // Templates hold no data: no session needed (as over gRPC).
  add("IngestService.GetTemplate",
      [importer](const RequestContext&,
                 const std::string& json) -> absl::StatusOr<std::string> {
        v1::GetTemplateRequest req;
        RETURN_IF_ERROR(FromJson(json, &req));
        ASSIGN_OR_RETURN(auto resp, importer->GetTemplate(req));
        return ToJson(resp);
      });
  // Calls without a request message.
  add("AdminService.Logout",
      [admin](const RequestContext& ctx,
              const std::string&) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(auto resp,
                         admin->Logout(CallContext{ctx.token, ctx.peer}));
        return ToJson(resp);
      });
  add("AdminService.WhoAmI",
      [admin](const RequestContext& ctx,
              const std::string&) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(auto resp,
                         admin->WhoAmI(CallContext{ctx.token, ctx.peer}));
        return ToJson(resp);
      });
}

absl::StatusOr<std::unique_ptr<WebUpload>> WebApi::BeginUpload(
    const RequestContext& ctx, const std::string& method,
    const std::string& options_json) const {
  if (method == "MonitorService.ImportDues") {
    v1::ImportDuesRequest req;
    RETURN_IF_ERROR(FromJson(options_json, &req));
    if (!req.content().empty()) {
      return absl::InvalidArgumentError("the file goes in the body");
    }
    RETURN_IF_ERROR(dues_->CheckImport(ctx));
    return std::make_unique<DuesUpload>(dues_, ctx, std::move(req));
  }
  if (method != "IngestService.Import") {
    return absl::NotFoundError(
        absl::StrCat("no upload endpoint '", method.substr(0, 64), "'"));
  }
  v1::ImportOptions options;
  RETURN_IF_ERROR(FromJson(options_json, &options));
  ASSIGN_OR_RETURN(std::unique_ptr<ImportJob> job,
                   importer_->Begin(ctx, options));
  return std::make_unique<ImportUpload>(std::move(job));
}

bool WebApi::Has(const std::string& method) const {
  return handlers_.count(method) > 0;
}

absl::StatusOr<std::string> WebApi::Call(const RequestContext& ctx,
                                         const std::string& method,
                                         const std::string& json) const {
  auto it = handlers_.find(method);
  if (it == handlers_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no endpoint '", method.substr(0, 64), "'"));
  }
  return it->second(ctx, json);
}

}  // namespace unionsync
