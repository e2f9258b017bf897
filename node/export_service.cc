#include "node/export_service.h"

#include <string>
#include <utility>

#include "node/admin.h"
#include "node/admin_service.h"
#include "node/exporter.h"
#include "unionsync/v1/export.grpc.pb.h"

namespace unionsync {
namespace {

template <typename Resp, typename Call>
grpc::Status Run(grpc::ServerContext* ctx, Resp* resp, Call call) {
  CallContext c = ContextOf(ctx);
  absl::StatusOr<Resp> result =
      call(RequestContext{std::move(c.token), std::move(c.peer)});
  if (!result.ok()) return ToGrpcStatus(result.status());
  *resp = *std::move(result);
  return grpc::Status::OK;
}

class ExportServiceImpl final : public v1::ExportService::Service {
 public:
  explicit ExportServiceImpl(Exporter* exporter) : exporter_(exporter) {}

  grpc::Status RequestExport(grpc::ServerContext* ctx,
                             const v1::RequestExportRequest* req,
                             v1::RequestExportResponse* resp) override {
    return Run(ctx, resp, [&](const RequestContext& rc) {
      return exporter_->RequestExport(rc, *req);
    });
  }
  grpc::Status ApproveExport(grpc::ServerContext* ctx,
                             const v1::ApproveExportRequest* req,
                             v1::ApproveExportResponse* resp) override {
    return Run(ctx, resp, [&](const RequestContext& rc) {
      return exporter_->ApproveExport(rc, *req);
    });
  }
  grpc::Status ListExportRequests(
      grpc::ServerContext* ctx, const v1::ListExportRequestsRequest* req,
      v1::ListExportRequestsResponse* resp) override {
    return Run(ctx, resp, [&](const RequestContext& rc) {
      return exporter_->ListExportRequests(rc, *req);
    });
  }
  grpc::Status DownloadExport(grpc::ServerContext* ctx,
                              const v1::DownloadExportRequest* req,
                              v1::DownloadExportResponse* resp) override {
    return Run(ctx, resp, [&](const RequestContext& rc) {
      return exporter_->DownloadExport(rc, *req);
    });
  }
  grpc::Status TraceExport(grpc::ServerContext* ctx,
                           const v1::TraceExportRequest* req,
                           v1::TraceExportResponse* resp) override {
    return Run(ctx, resp, [&](const RequestContext& rc) {
      return exporter_->TraceExport(rc, *req);
    });
  }

 private:
  Exporter* exporter_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewExportService(Exporter* exporter) {
  return std::make_unique<ExportServiceImpl>(exporter);
}

}  // namespace unionsync
