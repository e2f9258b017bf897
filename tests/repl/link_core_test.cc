// The protocol version a link speaks (repl/link_core.h): a tree upgraded one
// node at a time keeps replicating as long as the two ends share a version.
#include "repl/link_core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace unionsync::repl {
namespace {

using ::testing::HasSubstr;
using ::unionsync::testing::StatusIs;

TEST(ProtocolVersionTest, TheSessionSpeaksTheHighestVersionBothSpeak) {
  // A peer of this build.
  ASSERT_OK_AND_ASSIGN(
      uint32_t v, NegotiateProtocol(kProtocolVersion, kMinProtocolVersion));
  EXPECT_EQ(v, kProtocolVersion);
  // An older peer that does not send min_protocol_version (0).
  ASSERT_OK_AND_ASSIGN(v, NegotiateProtocol(kMinProtocolVersion, 0));
  EXPECT_EQ(v, kMinProtocolVersion);
  // A newer peer (one version ahead) that still speaks this build's version.
  ASSERT_OK_AND_ASSIGN(
      v, NegotiateProtocol(kProtocolVersion + 1, kMinProtocolVersion));
  EXPECT_EQ(v, kProtocolVersion);
  // A min above the max is read as the max alone.
  ASSERT_OK_AND_ASSIGN(v, NegotiateProtocol(kProtocolVersion, 99));
  EXPECT_EQ(v, kProtocolVersion);
}

TEST(ProtocolVersionTest, NoCommonVersionIsRefusedNamingBothRanges) {
  EXPECT_THAT(NegotiateProtocol(kProtocolVersion + 2, kProtocolVersion + 1),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("upgrade the older node")));
  EXPECT_THAT(NegotiateProtocol(0, 0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("versions 0 to 0")));
}

}  // namespace
}  // namespace unionsync::repl
