#include "node/admin_service.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "node/admin.h"
#include "unionsync/v1/admin.grpc.pb.h"

namespace unionsync {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

CallContext ContextOf(const grpc::ServerContextBase* ctx) {
  CallContext out;
  out.peer = ctx->peer();
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it != md.end()) {
    absl::string_view value(it->second.data(), it->second.size());
    constexpr absl::string_view kBearer = "Bearer ";
    if (absl::StartsWith(value, kBearer)) value.remove_prefix(kBearer.size());
    out.token = std::string(value);
  }
  return out;
}

namespace {

// Runs one Admin call and moves its result into the response.
template <typename Resp, typename Call>
grpc::Status Run(grpc::ServerContext* ctx, Resp* resp, Call call) {
  absl::StatusOr<Resp> result = call(ContextOf(ctx));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *resp = *std::move(result);
  return grpc::Status::OK;
}

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(Admin* admin) : admin_(admin) {}

#define US_ADMIN_RPC(Name)                                                   \
  grpc::Status Name(grpc::ServerContext* ctx, const v1::Name##Request* req,  \
                    v1::Name##Response* resp) override {                     \
    return Run(ctx, resp,                                                    \
               [&](const CallContext& c) { return admin_->Name(c, *req); }); \
  }

  grpc::Status Logout(grpc::ServerContext* ctx, const v1::LogoutRequest*,
                      v1::LogoutResponse* resp) override {
    return Run(ctx, resp,
               [&](const CallContext& c) { return admin_->Logout(c); });
  }
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const v1::WhoAmIRequest*,
                      v1::WhoAmIResponse* resp) override {
    return Run(ctx, resp,
               [&](const CallContext& c) { return admin_->WhoAmI(c); });
  }
  US_ADMIN_RPC(Login)
  US_ADMIN_RPC(ChangePassword)
  US_ADMIN_RPC(CheckNewPassword)
  US_ADMIN_RPC(CreateChildOrg)
  US_ADMIN_RPC(GetOrg)
  US_ADMIN_RPC(ListChildOrgs)
  US_ADMIN_RPC(UpdateOrgProfile)
  US_ADMIN_RPC(CorrectOrgRegistration)
  US_ADMIN_RPC(DissolveOrg)
  US_ADMIN_RPC(RecordTraining)
  US_ADMIN_RPC(SetChildTarget)
  US_ADMIN_RPC(CreateAccount)
  US_ADMIN_RPC(ListAccounts)
  US_ADMIN_RPC(DisableAccount)
  US_ADMIN_RPC(EnableAccount)
  US_ADMIN_RPC(ResetPassword)
  US_ADMIN_RPC(AddMember)
  US_ADMIN_RPC(UpdateMember)
  US_ADMIN_RPC(TransferMember)
  US_ADMIN_RPC(RemoveMember)
  US_ADMIN_RPC(GetMember)
  US_ADMIN_RPC(ListMembers)
  US_ADMIN_RPC(GetSubtreeSummary)
  US_ADMIN_RPC(GetReplicationStatus)
  US_ADMIN_RPC(ForceResync)
  US_ADMIN_RPC(VerifyAudit)
  US_ADMIN_RPC(SearchAudit)
  US_ADMIN_RPC(CreateBackup)
  US_ADMIN_RPC(ListBackups)
  US_ADMIN_RPC(VerifyBackup)
#undef US_ADMIN_RPC

 private:
  Admin* admin_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAdminService(Admin* admin) {
  return std::make_unique<AdminServiceImpl>(admin);
}

}  // namespace unionsync
