// The payment service's dues file (dues/dues_file.h): columns found by name,
// every bad cell reported with its row and a Chinese reason, ID numbers
// masked in what is reported, periods and amounts normalised.
#include "dues/dues_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"

namespace unionsync::dues {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::unionsync::testing::StatusIs;

std::string Id(uint64_t n) { return UniqueIdNumber(n); }

absl::StatusOr<DuesFileSummary> Read(const std::string& csv,
                                     std::vector<DuesRow>* rows = nullptr) {
  return ReadDuesFile(csv, [&](const DuesRow& r) {
    if (rows != nullptr) rows->push_back(r);
    return absl::OkStatus();
  });
}

TEST(DuesFileTest, ReadsColumnsByNameInAnyOrderAndIgnoresOthers) {
  const std::string csv = absl::StrCat(
      "\xEF\xBB\xBF姓名,交易流水号,金额（元）,身份证号码,缴费月份,缴费日期\n",
      "张三,T001,12.5,", Id(1), ",2020-03,2020/3/5\n", "李四,T002,8,", Id(2),
      ",202004,\n", "\n", "王五,T003,0.05,", Id(3), ",2020年5月,2020-05-31\n");
  std::vector<DuesRow> rows;
  auto s = Read(csv, &rows);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->rows, 3);
  EXPECT_EQ(s->total_errors, 0);
  EXPECT_EQ(s->amount_fen, 1250 + 800 + 5);
  EXPECT_THAT(s->periods, ElementsAre("2020-03", "2020-04", "2020-05"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].row, 2);
  EXPECT_EQ(rows[0].id_number, Id(1));
  EXPECT_EQ(rows[0].amount_fen, 1250);
  EXPECT_EQ(rows[0].reference, "T001");
  EXPECT_EQ(rows[0].paid_on, "2020-03-05");
  EXPECT_EQ(rows[1].paid_on, "");
  EXPECT_EQ(rows[2].row, 5);  // The blank row keeps its number.
  EXPECT_EQ(rows[2].period, "2020-05");
}

TEST(DuesFileTest, EveryBadCellIsReportedWithItsRowAndTheNumberMasked) {
  std::string bad_id = Id(4);
  bad_id[17] = bad_id[17] == '0' ? '1' : '0';  // Wrong check character.
  const std::string csv =
      absl::StrCat("身份证号码,缴费月份,金额,流水号,缴费日期\n", bad_id,
                   ",2020-13,12.345,T1,2020-02-30\n",  // Four bad cells.
                   Id(5), ",2020-03,-3,,\n",           // Amount and reference.
                   Id(6), ",2020-03,100000.01,T3,\n",  // Over the limit.
                   Id(7), ",2020-03,12.00,T4,\n");     // Valid.
  std::vector<DuesRow> rows;
  auto s = Read(csv, &rows);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->rows, 4);
  EXPECT_EQ(s->valid_rows, 1);
  EXPECT_EQ(s->total_errors, 7);
  ASSERT_EQ(s->errors.size(), 7u);
  EXPECT_EQ(s->errors[0].row(), 2);
  EXPECT_EQ(s->errors[0].column(), "身份证号码");
  EXPECT_THAT(s->errors[0].reason(), HasSubstr("校验位"));
  EXPECT_EQ(s->errors[0].value(),
            absl::StrCat(bad_id.substr(0, 6), "********", bad_id.substr(14)));
  EXPECT_EQ(s->errors[1].column(), "缴费月份");
  EXPECT_EQ(s->errors[2].column(), "金额（元）");
  EXPECT_EQ(s->errors[3].column(), "缴费日期");
  EXPECT_EQ(s->errors[4].row(), 3);
  EXPECT_EQ(s->errors[5].column(), "交易流水号");
  EXPECT_EQ(s->errors[6].row(), 4);
  for (const auto& e : s->errors)
    EXPECT_THAT(e.value(), Not(HasSubstr(bad_id)));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].amount_fen, 1200);
}

TEST(DuesFileTest, AFileWithoutTheRequiredColumnsIsRefusedAsAWhole) {
  EXPECT_THAT(Read(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Read(absl::StrCat("身份证号码,金额\n", Id(1), ",3\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("缺少“缴费月份”、“交易流水号”列")));
  EXPECT_THAT(
      Read("身份证号码,身份证号,缴费月份,金额,流水号\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("出现了两次")));
  EXPECT_THAT(
      Read("身份证号码,缴费月份,金额,流水号\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("没有缴费记录")));
}

TEST(DuesFileTest, PeriodsAreMonthsOfThisCentury) {
  EXPECT_EQ(ParseDuesPeriod("2020-03"), "2020-03");
  EXPECT_EQ(ParseDuesPeriod(" 2020/3 "), "2020-03");
  EXPECT_EQ(ParseDuesPeriod("202012"), "2020-12");
  EXPECT_EQ(ParseDuesPeriod("2020年12月"), "2020-12");
  for (const char* bad :
       {"", "2020", "2020-00", "2020-13", "1999-12", "2100-01", "20-03",
        "2020-3-1", "2020年月", "43891"}) {
    EXPECT_EQ(ParseDuesPeriod(bad), "") << bad;
  }
}

}  // namespace
}  // namespace unionsync::dues
