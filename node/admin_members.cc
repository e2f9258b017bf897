#include "node/admin.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/divisions.h"
#include "common/mask.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "node/admin_internal.h"

namespace unionsync {

using namespace admin_internal;  // NOLINT: this layer's own helpers.

// ---------------------------------------------------------------------------------------------
// Members

absl::StatusOr<v1::Member> Admin::OwnMember(const Caller& caller,
                                            absl::string_view action,
                                            const std::string& member_id) {
  const std::string target = MemberTarget(member_id);
  RETURN_IF_ERROR(RequireAdmin(caller, action, target));
  if (auto s = ValidateIdentifier("member_id", member_id); !s.ok()) {
    return Fail(caller, action, "", s);
  }
  auto member = store_->GetMember(member_id);
  if (!member.ok()) return Fail(caller, action, target, member.status());
  if (member->org_id() != caller.session.org_id) {
    return Deny(caller, action, target,
                "member data is accessible only to the data administrator of "
                "the member's own "
                "union (R10.2)");
  }
  return member;
}

namespace {

// Copies the fields a data administrator edits and normalises them.
// A masked ID or phone number sent back as it was read keeps the stored one.
void CopyEditable(const v1::Member& from, v1::Member* to) {
  to->set_name(std::string(absl::StripAsciiWhitespace(from.name())));
  to->set_gender(from.gender());
  to->set_ethnicity(from.ethnicity());
  if (!IsMaskedIdNumberOf(from.id_number(), to->id_number())) {
    to->set_id_number(NormalizeIdNumber(from.id_number()));
  }
  // A confirmation counts only for numbers with the code confirmed
  // (RegionConfirmed), so one sent back with another number does nothing.
  if (!from.confirmed_region_code().empty()) {
    to->set_confirmed_region_code(from.confirmed_region_code());
  }
  const std::string phone(absl::StripAsciiWhitespace(from.phone()));
  if (!IsMaskedPhoneOf(phone, to->phone())) to->set_phone(phone);
  to->set_education(from.education());
  to->set_workplace(from.workplace());
  to->set_join_date(from.join_date());
  to->set_card_number(from.card_number());
  to->set_migrant_worker(from.migrant_worker());
  to->set_dues_status(from.dues_status());
}

// The audit detail of a write whose ID number has a region code no list has,
// confirmed by the clerk; empty otherwise. The code is the part of the number
// a masked read shows too.
std::string RegionConfirmation(const v1::Member& m) {
  if (!RegionConfirmed(m)) return "";
  const std::string code = m.id_number().substr(0, 6);
  if (FindDivision(code)) return "";
  return absl::StrCat("id_number region code ", code,
                      " is in no GB/T 2260 list; confirmed by the clerk");
}

}  // namespace

absl::StatusOr<v1::AddMemberResponse> Admin::AddMember(
    const CallContext& ctx, const v1::AddMemberRequest& req) {
  constexpr absl::string_view kAction = "AddMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string org_id = req.member().org_id().empty()
                                 ? caller.session.org_id
                                 : req.member().org_id();
  const std::string target = OrgTarget(org_id);
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, kAction, org_id,
      "members are entered by the union of the unit where they work: "
      "org_id must be "
      "your own organisation (R4)"));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  auto org = HostedOrg(org_id);
  if (!org.ok()) return fail(org.status());
  if (!IsGrassroots(org->kind()) || org->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "members belong to active grassroots unions; '", org_id, "' is a ",
        OrgKindCode(org->kind()),
        org->status() != v1::ORG_ACTIVE ? " that is dissolved" : "")));
  }
  v1::Member m;
  CopyEditable(req.member(), &m);
  if (auto s = ValidateMember(m, ChinaCivilDay(clock_->NowMs())); !s.ok())
    return fail(s);
  ASSIGN_OR_RETURN(std::string raw_id, RandomBytes(12));
  const int64_t now = clock_->NowMs();
  m.set_id(HexEncode(raw_id));
  m.set_org_id(org_id);
  m.set_status(v1::MEMBER_ACTIVE);
  m.set_created_at_ms(now);
  m.set_updated_at_ms(now);
  WriteSet w;
  w.PutMember(m, WriteSet::Mode::kCreate);
  w.Audit(AuditOf(caller, kAction, MemberTarget(m.id()), v1::AUDIT_OK,
                  RegionConfirmation(m)));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::AddMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  MaskMember(resp.mutable_member());
  return resp;
}

absl::StatusOr<v1::UpdateMemberResponse> Admin::UpdateMember(
    const CallContext& ctx, const v1::UpdateMemberRequest& req) {
  constexpr absl::string_view kAction = "UpdateMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Member m, OwnMember(caller, kAction, req.member().id()));
  const std::string target = MemberTarget(m.id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  if (m.status() != v1::MEMBER_ACTIVE) {
    return fail(absl::FailedPreconditionError("the member was removed"));
  }
  if (auto org = HostedOrg(m.org_id()); !org.ok()) return fail(org.status());
  CopyEditable(req.member(), &m);
  if (auto s = ValidateMember(m, ChinaCivilDay(clock_->NowMs())); !s.ok())
    return fail(s);
  m.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutMember(m);
  w.Audit(
      AuditOf(caller, kAction, target, v1::AUDIT_OK, RegionConfirmation(m)));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::UpdateMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  MaskMember(resp.mutable_member());
  return resp;
}

absl::StatusOr<v1::TransferMemberResponse> Admin::TransferMember(
    const CallContext& ctx, const v1::TransferMemberRequest& req) {
  constexpr absl::string_view kAction = "TransferMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Member m, OwnMember(caller, kAction, req.member_id()));
  const std::string target = MemberTarget(m.id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  if (m.status() != v1::MEMBER_ACTIVE) {
    return fail(absl::FailedPreconditionError("the member was removed"));
  }
  if (auto s = ValidateIdentifier("to_org_id", req.to_org_id()); !s.ok())
    return fail(s);
  if (req.to_org_id() == m.org_id()) {
    return fail(absl::InvalidArgumentError(
        "to_org_id: the member is already in that union"));
  }
  auto to = HostedOrg(req.to_org_id());
  if (!to.ok()) return fail(to.status());
  if (!IsGrassroots(to->kind()) || to->status() != v1::ORG_ACTIVE) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "to_org_id: '", to->id(), "' is not an active grassroots union")));
  }
  m.set_org_id(to->id());
  m.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutMember(m);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK,
                  absl::StrCat("to ", to->id())));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::TransferMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  MaskMember(resp.mutable_member());
  return resp;
}

absl::StatusOr<v1::RemoveMemberResponse> Admin::RemoveMember(
    const CallContext& ctx, const v1::RemoveMemberRequest& req) {
  constexpr absl::string_view kAction = "RemoveMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  ASSIGN_OR_RETURN(v1::Member m, OwnMember(caller, kAction, req.member_id()));
  const std::string target = MemberTarget(m.id());
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  if (auto s = ValidateText("reason", req.reason(), kMaxReasonChars, false);
      !s.ok()) {
    return fail(s);
  }
  if (m.status() != v1::MEMBER_ACTIVE) {
    return fail(
        absl::FailedPreconditionError("the member was already removed"));
  }
  if (auto org = HostedOrg(m.org_id()); !org.ok()) return fail(org.status());
  m.set_status(v1::MEMBER_REMOVED);
  m.set_updated_at_ms(clock_->NowMs());
  WriteSet w;
  w.PutMember(m);
  w.Audit(AuditOf(caller, kAction, target, v1::AUDIT_OK, req.reason()));
  if (auto s = store_->Commit(w, caller.session.username).status(); !s.ok())
    return fail(s);
  v1::RemoveMemberResponse resp;
  *resp.mutable_member() = std::move(m);
  MaskMember(resp.mutable_member());
  return resp;
}

absl::StatusOr<v1::GetMemberResponse> Admin::GetMember(
    const CallContext& ctx, const v1::GetMemberRequest& req) {
  constexpr absl::string_view kAction = "GetMember";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const bool reveal = !req.reveal_reason().empty();
  if (reveal) {
    if (auto s = ValidateText("reveal_reason", req.reveal_reason(),
                              kMaxReasonChars, true);
        !s.ok() || req.reveal_reason().size() < 4) {
      return Fail(caller, kAction, "",
                  s.ok() ? absl::InvalidArgumentError(
                               "reveal_reason: say why the full numbers are "
                               "needed (at least 4 characters)")
                         : s);
    }
  }
  // "Not a member of your union" and "nobody" answer alike, so nobody can
  // test whether a person is a union member elsewhere; the audit log keeps
  // the difference.
  const absl::Status not_found = absl::NotFoundError(
      "no member of your union matches; check the number or the member id");
  std::optional<v1::Member> m;
  switch (req.key_case()) {
    case v1::GetMemberRequest::kMemberId: {
      if (auto s = ValidateIdentifier("member_id", req.member_id()); !s.ok()) {
        return Fail(caller, kAction, "", s);
      }
      auto found = store_->GetMember(req.member_id());
      if (found.ok()) {
        m = *std::move(found);
      } else if (!absl::IsNotFound(found.status())) {
        return found.status();
      }
      break;
    }
    case v1::GetMemberRequest::kIdNumber: {
      const std::string id_number = NormalizeIdNumber(req.id_number());
      // A lookup finds confirmed numbers with unlisted region codes too.
      if (auto s = ValidateIdNumber(id_number, ChinaToday(),
                                    RegionCheck::kConfirmedUnlisted);
          !s.ok()) {
        return Fail(caller, kAction, "member/by-id-number", s);
      }
      auto found = store_->FindMemberByIdNumber(id_number);
      if (found.ok()) {
        m = *std::move(found);
      } else if (!absl::IsNotFound(found.status())) {
        return found.status();
      }
      break;
    }
    default:
      return Fail(caller, kAction, "",
                  absl::InvalidArgumentError("give member_id or id_number"));
  }
  if (!m.has_value()) {
    RETURN_IF_ERROR(AuditOnly(AuditOf(caller, kAction, "member/", v1::AUDIT_FAILED,
                                      "no such member")));
    return not_found;
  }
  if (m->org_id() != caller.session.org_id) {
    RETURN_IF_ERROR(AuditOnly(
        AuditOf(caller, kAction, MemberTarget(m->id()), v1::AUDIT_DENIED,
                "member of another union (answered as not found, R10.2)")));
    return not_found;
  }
  const std::string target = MemberTarget(m->id());
  v1::AuditEntry entry =
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              reveal ? absl::StrCat("full ID and phone numbers asked for: ",
                                    req.reveal_reason())
                     : "masked");
  WriteSet w;
  w.Audit(std::move(entry));
  ASSIGN_OR_RETURN(CommitResult written,
                   store_->Commit(w, caller.session.username));
  if (reveal && replication_ != nullptr) {
    // Fail closed on full values (docs/SECURITY.md): the entry that records
    // this reveal must be held by the parent node before the numbers leave,
    // so it can neither be deleted unseen here nor be given while this node
    // cannot hear about a revocation from above.
    if (auto s = replication_->ConfirmAuditHeld(written.audit_seqs.back());
        !s.ok()) {
      return Fail(caller, kAction, target, s);
    }
  }
  v1::GetMemberResponse resp;
  *resp.mutable_member() = *std::move(m);
  if (reveal) {
    resp.set_revealed(true);
  } else {
    MaskMember(resp.mutable_member());
  }
  return resp;
}

absl::StatusOr<v1::ListMembersResponse> Admin::ListMembers(
    const CallContext& ctx, const v1::ListMembersRequest& req) {
  constexpr absl::string_view kAction = "ListMembers";
  ASSIGN_OR_RETURN(Caller caller, Authenticate(ctx, kAction));
  const std::string org_id =
      req.org_id().empty() ? caller.session.org_id : req.org_id();
  const std::string target = OrgTarget(org_id);
  RETURN_IF_ERROR(RequireOwnOrgAdmin(
      caller, kAction, org_id,
      "member lists are accessible only to the data administrator of "
      "the union itself "
      "(R10.2)"));
  auto fail = [&](absl::Status s) {
    return Fail(caller, kAction, target, std::move(s));
  };
  auto size = PageSize(req.page_size());
  if (!size.ok()) return fail(size.status());
  auto after = DecodePageToken(req.page_token());
  if (!after.ok()) return fail(after.status());
  if (auto s = ValidateText("name_prefix", req.name_prefix(), 50, false);
      !s.ok())
    return fail(s);
  if (!v1::DuesStatus_IsValid(req.dues_status())) {
    return fail(absl::InvalidArgumentError("dues_status: unknown value"));
  }
  v1::ListMembersResponse resp;
  std::string cursor = *after;
  // Filters may skip many records: scan in chunks, but never more than a
  // bounded amount of work per call; the token lets the client continue.
  constexpr size_t kChunk = 512;
  constexpr size_t kMaxScanned = 20000;
  size_t scanned = 0;
  bool exhausted = false;
  while (resp.members_size() < *size && scanned < kMaxScanned) {
    ASSIGN_OR_RETURN(std::vector<v1::Member> chunk,
                     store_->ListMembers(org_id, cursor, kChunk));
    if (chunk.empty()) {
      exhausted = true;
      break;
    }
    for (auto& m : chunk) {
      ++scanned;
      cursor = m.id();
      if (!req.include_removed() && m.status() != v1::MEMBER_ACTIVE) continue;
      if (req.migrant_only() && !m.migrant_worker()) continue;
      if (req.dues_status() != v1::DUES_STATUS_UNSPECIFIED &&
          m.dues_status() != req.dues_status()) {
        continue;
      }
      if (!req.name_prefix().empty() &&
          !absl::StartsWith(m.name(), req.name_prefix()))
        continue;
      v1::Member* out = resp.add_members();
      *out = std::move(m);
      MaskMember(out);
      if (resp.members_size() == *size) break;
    }
    if (chunk.size() < kChunk && resp.members_size() < *size) {
      exhausted = true;
      break;
    }
  }
  if (!exhausted) {
    // There may be more: continue after the last record looked at.
    auto more = store_->ListMembers(org_id, cursor, 1);
    if (more.ok() && !more->empty())
      resp.set_next_page_token(Base64Encode(cursor));
  }
  RETURN_IF_ERROR(AuditOnly(
      AuditOf(caller, kAction, target, v1::AUDIT_OK,
              absl::StrCat(resp.members_size(), " members returned"))));
  return resp;
}


}  // namespace unionsync
