// The log's two formats, its levels and its refusals.
#include "common/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "testing/status_matchers.h"

namespace unionsync {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::unionsync::testing::StatusIs;

std::vector<std::string> Lines(const std::ostringstream& out) {
  return absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
}

TEST(LogTest, TextLinesCarryTimeLevelNodeAndComponent) {
  std::ostringstream out;
  ASSERT_OK(InitLogging({"430102", "text", "info", &out}));
  LogInfo("replication", "uplink to 430100 ended");
  LogDebug("replication", "not shown at info");
  LogError("web", "backend error");
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u) << out.str();
  EXPECT_THAT(lines[0],
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z info 430102 "
                           "replication: uplink to 430100 ended"));
  EXPECT_THAT(lines[1], HasSubstr(" error 430102 web: backend error"));
}

TEST(LogTest, JsonLinesAreJsonWhateverTheMessageHolds) {
  std::ostringstream out;
  ASSERT_OK(InitLogging({"430100", "json", "debug", &out}));
  const std::string awkward = "a \"quote\", a \\ backslash,\na newline, \x01";
  LogDebug("reconciler", awkward);
  LogWarning("warnings", "evaluation failed");
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u) << out.str();
  google::protobuf::Struct first;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[0], &first).ok())
      << lines[0];
  EXPECT_EQ(first.fields().at("msg").string_value(), awkward);
  EXPECT_EQ(first.fields().at("level").string_value(), "debug");
  EXPECT_EQ(first.fields().at("node").string_value(), "430100");
  EXPECT_EQ(first.fields().at("component").string_value(), "reconciler");
  EXPECT_THAT(first.fields().at("time").string_value(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"));
  google::protobuf::Struct second;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[1], &second).ok());
  EXPECT_EQ(second.fields().at("level").string_value(), "warning");
}

TEST(LogTest, UnknownFormatOrLevelIsRefusedAndChangesNothing) {
  std::ostringstream out;
  ASSERT_OK(InitLogging({"n1", "text", "warning", &out}));
  std::ostringstream other;
  EXPECT_THAT(InitLogging({"n1", "xml", "info", &other}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--log_format")));
  EXPECT_THAT(InitLogging({"n1", "text", "loud", &other}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--log_level")));
  LogInfo("node", "below warning");
  LogWarning("node", "kept");
  EXPECT_EQ(Lines(out).size(), 1u) << out.str();
  EXPECT_TRUE(other.str().empty());
}

}  // namespace
}  // namespace unionsync
