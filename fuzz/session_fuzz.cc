// libFuzzer target: session tokens as they arrive in the "authorization"
// metadata or the session cookie. An arbitrary token must be refused
// (UNAUTHENTICATED) without crashing, and never match a live session; the
// one live token must keep working.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/clock.h"
#include "node/sessions.h"
#include "unionsync/v1/model.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static unionsync::FakeClock clock(1'795'744'800'000);
  static unionsync::SessionManager* sessions = [] {
    auto* s = new unionsync::SessionManager(&clock);
    return s;
  }();
  static std::string live = [] {
    unionsync::v1::Account a;
    a.set_username("g1admin");
    a.set_org_id("g1");
    a.set_role(unionsync::v1::DATA_ADMIN);
    a.set_state(unionsync::v1::CREDENTIAL_ACTIVE);
    a.set_credential_epoch(2);
    auto token = sessions->Create(a);
    if (!token.ok()) std::abort();
    return *token;
  }();
  const std::string token(reinterpret_cast<const char*>(data), size);
  auto found = sessions->Lookup(token);
  if (found.ok() && token != live) std::abort();  // A forged token matched.
  if (!sessions->Lookup(live).ok()) std::abort();
  return 0;
}
