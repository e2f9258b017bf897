// libFuzzer target: the decoding of requests people send, as gRPC and the
// web's JSON endpoints decode them: bytes parsed as each Admin, Export and
// Ingest request (protobuf binary, as gRPC does) and as JSON (protobuf's JSON
// mapping, as a web endpoint would), then the field checks every handler runs
// first (bounded UTF-8 text, identifiers, usernames, ID numbers, credit
// codes). None may crash, hang or accept malformed text.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/civil_time.h"
#include "common/org_rules.h"
#include "common/validation.h"
#include "google/protobuf/util/json_util.h"
#include "unionsync/v1/admin.pb.h"
#include "unionsync/v1/export.pb.h"
#include "unionsync/v1/ingest.pb.h"
#include "unionsync/v1/monitor.pb.h"

namespace {

template <typename T>
void Decode(const std::string& input, bool json) {
  T message;
  if (json) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    if (!google::protobuf::util::JsonStringToMessage(input, &message, options)
             .ok()) {
      return;
    }
  } else if (!message.ParseFromString(input)) {
    return;
  }
  // What a handler checks first; each returns a status, never crashes.
  std::string serialized;
  message.SerializeToString(&serialized);
}

void Checks(const unionsync::v1::CreateChildOrgRequest& r) {
  (void)unionsync::ValidateIdentifier("parent_id", r.parent_id());
  (void)unionsync::ValidateText("org.name", r.org().name(), 100, true);
  (void)unionsync::ValidateUsername("admin_username", r.admin_username());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the message and the encoding.
  const uint8_t pick = data[0];
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool json = pick & 1;
  switch ((pick >> 1) % 8) {
    case 0: {
      unionsync::v1::CreateChildOrgRequest r;
      if (json ? google::protobuf::util::JsonStringToMessage(input, &r).ok()
               : r.ParseFromString(input)) {
        Checks(r);
      }
      break;
    }
    case 1: {
      unionsync::v1::AddMemberRequest r;
      if (json ? google::protobuf::util::JsonStringToMessage(input, &r).ok()
               : r.ParseFromString(input)) {
        (void)unionsync::ValidateMember(r.member(), absl::CivilDay(2026, 12, 2));
        (void)unionsync::ValidateIdNumber(r.member().id_number());
      }
      break;
    }
    case 2: {
      unionsync::v1::UpdateOrgProfileRequest r;
      if (json ? google::protobuf::util::JsonStringToMessage(input, &r).ok()
               : r.ParseFromString(input)) {
        (void)unionsync::ValidateOrgProfile(r.profile());
        (void)unionsync::ValidateCreditCode(r.profile().credit_code());
      }
      break;
    }
    case 3:
      Decode<unionsync::v1::GetMemberRequest>(input, json);
      break;
    case 4:
      Decode<unionsync::v1::SearchAuditRequest>(input, json);
      break;
    case 5:
      Decode<unionsync::v1::RequestExportRequest>(input, json);
      break;
    case 6:
      Decode<unionsync::v1::ImportOptions>(input, json);
      break;
    default:
      Decode<unionsync::v1::GetProgressRequest>(input, json);
      break;
  }
  return 0;
}
