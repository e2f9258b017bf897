// Row mapping and validation: header checks, per-cell errors in Chinese,
// duplicates within a file, Excel serial dates, organisations, the error
// report.
#include "ingest/import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/org_rules.h"
#include "ingest/table.h"
#include "ingest/template.h"
#include "ingest/test_files.h"
#include "ingest/writer.h"
#include "synth/synth.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::ingest {
namespace {

using ::testing::AllOf;
using testing::CsvLine;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::MemberHeaderCsv;
using ::testing::SizeIs;
using testing::XCell;
using ::unionsync::testing::StatusIs;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

ImportOptions Options() {
  ImportOptions o;
  o.org_id = "g1";
  o.today = absl::CivilDay(2024, 1, 1);
  return o;
}

// A valid row of the member template for UniqueIdNumber(n).
std::vector<std::string> ValidRow(uint64_t n) {
  v1::Member m = testing::Members(1, n)[0];
  return MemberToCells(m);
}

int Col(ingest::Field f) { return ColumnIndex(MemberTemplate(), f); }

struct Result {
  absl::Status status;
  ImportSummary summary;
  std::vector<v1::Member> members;
};

Result ImportCsv(const std::string& csv, ImportOptions o = Options()) {
  Result r;
  auto reader = OpenTableBytes(csv);
  if (!reader.ok()) {
    r.status = reader.status();
    return r;
  }
  auto s = ImportMembers(**reader, o, [&](int64_t, const v1::Member& m) {
    r.members.push_back(m);
    return absl::OkStatus();
  });
  r.status = s.status();
  if (s.ok()) r.summary = *std::move(s);
  return r;
}

std::string CsvOf(const std::vector<std::vector<std::string>>& rows) {
  std::string csv = MemberHeaderCsv() + "\r\n";
  for (const auto& row : rows) csv += CsvLine(row);
  return csv;
}

auto ErrorIs(int64_t row, absl::string_view column, absl::string_view reason) {
  return AllOf(Field(&CellError::row, row),
               Field(&CellError::column, std::string(column)),
               Field(&CellError::reason, HasSubstr(std::string(reason))));
}

TEST(TemplateTest, CodedValuesMatchTheModel) {
  for (absl::string_view kind : ChildOrgKindValues()) {
    auto parsed = ParseOrgKind(kind);
    ASSERT_OK(parsed.status()) << kind;
    EXPECT_EQ(OrgKindChineseName(*parsed), kind);
  }
  EXPECT_EQ(ChildOrgKindValues().size(), 9u);
  EXPECT_EQ(EducationValues().size(), static_cast<size_t>(v1::Education_MAX));
  EXPECT_EQ(DuesValues().size(), static_cast<size_t>(v1::DuesStatus_MAX));
  EXPECT_EQ(EthnicityValues().size(), 56u);
  for (const TemplateSpec* spec : {&MemberTemplate(), &OrgTemplate()}) {
    for (const ColumnSpec& c : spec->columns) {
      EXPECT_FALSE(c.note.empty()) << c.header;
      if (c.kind == ValueKind::kCode) {
        EXPECT_FALSE(c.allowed_values.empty()) << c.header;
      }
    }
  }
  EXPECT_EQ(MemberTemplate().columns[0].header, "姓名");
}

TEST(ImportMembersTest, ValidRowsBecomeMembers) {
  const auto source = testing::Members(3);
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : source) rows.push_back(MemberToCells(m));
  rows.insert(rows.begin() + 1,
              std::vector<std::string>(11, ""));  // Blank row.
  const Result r = ImportCsv(CsvOf(rows));
  ASSERT_OK(r.status);
  EXPECT_TRUE(r.summary.ok());
  EXPECT_EQ(r.summary.rows, 3);
  EXPECT_EQ(r.summary.valid_rows, 3);
  ASSERT_THAT(r.members, SizeIs(3));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.members[i].SerializeAsString(), source[i].SerializeAsString())
        << i;
  }
}

TEST(ImportMembersTest, HeaderErrorsNameTheHeader) {
  std::string csv = CsvOf({});
  csv.replace(csv.find("手机号码"), std::string("手机号码").size(), "手机");
  EXPECT_THAT(
      ImportCsv(csv).status,
      StatusIs(kInvalid,
               AllOf(HasSubstr("第5列（E列）的表头“手机”不是模板中的列"),
                     HasSubstr("缺少列“手机号码”"))));
  EXPECT_THAT(ImportCsv("姓名,性别,姓名\r\n").status,
              StatusIs(kInvalid,
                       AllOf(HasSubstr("表头“姓名”出现了两次（第1列和第3列）"),
                             HasSubstr("缺少列“民族”“公民身份号码”"))));
  EXPECT_THAT(ImportCsv("").status,
              StatusIs(kInvalid, HasSubstr("文件是空的")));
  EXPECT_THAT(ImportCsv("\r\n" + CsvOf({})).status,
              StatusIs(kInvalid, HasSubstr("第1行应为模板的表头")));
  // The organisation template is not the member template.
  std::vector<std::string> org_headers;
  for (const ColumnSpec& c : OrgTemplate().columns)
    org_headers.emplace_back(c.header);
  EXPECT_THAT(ImportCsv(CsvLine(org_headers)).status,
              StatusIs(kInvalid, HasSubstr("“组织编号”不是模板中的列")));
  // Columns may come in any order.
  std::vector<std::string> header;
  for (const ColumnSpec& c : MemberTemplate().columns)
    header.emplace_back(c.header);
  std::vector<std::string> row = ValidRow(7);
  std::swap(header[0], header[3]);
  std::swap(row[0], row[3]);
  const Result r = ImportCsv(CsvLine(header) + CsvLine(row));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.summary.valid_rows, 1);
}

TEST(ImportMembersTest, PerCellErrorsInChinese) {
  std::vector<std::vector<std::string>> rows;
  auto with = [&](uint64_t n, ingest::Field f, std::string v) {
    auto row = ValidRow(n);
    row[Col(f)] = std::move(v);
    rows.push_back(row);
  };
  std::string bad_check = ValidRow(1)[Col(ingest::Field::kIdNumber)];
  bad_check[17] = bad_check[17] == '0' ? '1' : '0';
  with(1, ingest::Field::kIdNumber, bad_check);            // Row 2.
  with(2, ingest::Field::kGender, "M");                    // Row 3.
  with(3, ingest::Field::kPhone, "1381234567");            // Row 4.
  with(4, ingest::Field::kJoinDate, "2019-02-30");         // Row 5.
  with(5, ingest::Field::kJoinDate, "去年");               // Row 6.
  with(6, ingest::Field::kEducation, "幼儿园");            // Row 7.
  with(7, ingest::Field::kMigrantWorker, "");              // Row 8.
  with(8, ingest::Field::kName, "");                       // Row 9.
  with(9, ingest::Field::kIdNumber, "43010219900101123");  // Row 10.
  with(10, ingest::Field::kPhone, "138-1234-5678");        // Row 11.
  with(11, ingest::Field::kCardNumber, "会员1");           // Row 12.
  with(12, ingest::Field::kJoinDate, "2030-01-01");        // Row 13.
  with(13, ingest::Field::kName, "张\t三");                // Row 14.
  rows.push_back(ValidRow(20));                            // Row 15.
  rows.push_back(ValidRow(20));                            // Row 16: duplicate.
  {
    auto row = ValidRow(21);  // Row 17: gender against the ID number.
    row[Col(ingest::Field::kGender)] =
        row[Col(ingest::Field::kGender)] == "男" ? "女" : "男";
    rows.push_back(row);
  }
  {
    auto row = ValidRow(22);  // Row 18: a region code in no GB/T 2260 list.
    row[Col(ingest::Field::kIdNumber)] = "439999199001010033";
    row[Col(ingest::Field::kGender)] = "男";
    rows.push_back(row);
  }
  const Result r = ImportCsv(CsvOf(rows));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.summary.rows, 17);
  EXPECT_EQ(r.summary.valid_rows, 1);
  EXPECT_EQ(r.summary.invalid_rows, 16);
  EXPECT_FALSE(r.summary.ok());
  EXPECT_THAT(
      r.summary.errors,
      ElementsAre(
          ErrorIs(2, "公民身份号码", "公民身份号码校验位错误"),
          ErrorIs(3, "性别", "性别只能填写“男”或“女”"),
          ErrorIs(4, "手机号码", "手机号码应为11位数字，现为10位"),
          ErrorIs(5, "入会时间", "入会时间不是存在的日期"),
          ErrorIs(6, "入会时间", "入会时间应为日期，写作 2019-06-01"),
          ErrorIs(7, "学历", "学历只能填写以下之一：小学、初中"),
          ErrorIs(8, "是否农民工", "是否农民工为必填项，只能填写“是”或“否”"),
          ErrorIs(9, "姓名", "姓名为必填项"),
          ErrorIs(10, "公民身份号码", "公民身份号码应为18位，现为17位"),
          ErrorIs(11, "手机号码", "手机号码只能填写数字"),
          ErrorIs(12, "会员证号", "会员证号只能包含字母、数字和“-”"),
          ErrorIs(13, "入会时间", "入会时间晚于今天"),
          ErrorIs(14, "姓名", "姓名不能含有换行、制表符等控制字符"),
          ErrorIs(16, "公民身份号码", "公民身份号码与第15行重复"),
          ErrorIs(17, "性别", "性别与公民身份号码不符"),
          ErrorIs(18, "公民身份号码",
                  "公民身份号码前六位（地区码）439999不在国家行政区划代码表")));
  // The value is kept for the report; reasons never contain it.
  EXPECT_EQ(r.summary.errors[0].value, bad_check);
  for (const CellError& e : r.summary.errors) {
    if (!e.value.empty()) {
      EXPECT_THAT(e.reason, ::testing::Not(HasSubstr(e.value)));
    }
  }
}

TEST(ImportMembersTest, LenientSpellingsAreNormalised) {
  auto row = ValidRow(3);
  const std::string id = row[Col(ingest::Field::kIdNumber)];
  // Full-width digits, surrounding spaces, a lower-case check character.
  std::string fw;
  for (char c : id) {
    if (c >= '0' && c <= '9') {
      fw += absl::StrCat("\xEF\xBC",
                         std::string(1, static_cast<char>(0x90 + (c - '0'))));
    } else {
      fw += "x";
    }
  }
  row[Col(ingest::Field::kIdNumber)] = " " + fw + "\xE3\x80\x80";
  row[Col(ingest::Field::kJoinDate)] = "2019/6/1";
  row[Col(ingest::Field::kEducation)] = "硕士";
  auto row2 = ValidRow(4);
  row2[Col(ingest::Field::kJoinDate)] = "2019年6月1日";
  auto row3 = ValidRow(5);
  row3[Col(ingest::Field::kJoinDate)] = "20190601";
  const Result r = ImportCsv(CsvOf({row, row2, row3}));
  ASSERT_OK(r.status);
  ASSERT_TRUE(r.summary.ok()) << r.summary.errors[0].reason;
  ASSERT_THAT(r.members, SizeIs(3));
  EXPECT_EQ(r.members[0].id_number(), id);
  EXPECT_EQ(r.members[0].join_date(), "2019-06-01");
  EXPECT_EQ(r.members[0].education(), v1::MASTER);
  EXPECT_EQ(r.members[1].join_date(), "2019-06-01");
  EXPECT_EQ(r.members[2].join_date(), "2019-06-01");
}

TEST(ImportMembersTest, ContentUnderUntitledColumnIsAnError) {
  auto row = ValidRow(1);
  row.push_back("多余");
  const Result r = ImportCsv(CsvOf({row}));
  ASSERT_OK(r.status);
  EXPECT_THAT(r.summary.errors, ElementsAre(ErrorIs(2, "L列", "该列没有表头")));
}

TEST(ImportMembersTest, ErrorsAreBoundedButCounted) {
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 30; ++i) {
    auto row = ValidRow(i);
    row[Col(ingest::Field::kGender)] = "?";
    row[Col(ingest::Field::kPhone)] = "1";
    rows.push_back(row);
  }
  ImportOptions o = Options();
  o.max_errors = 10;
  const Result r = ImportCsv(CsvOf(rows), o);
  ASSERT_OK(r.status);
  EXPECT_EQ(r.summary.total_errors, 60);
  EXPECT_THAT(r.summary.errors, SizeIs(10));
}

TEST(ExcelSerialTest, Conversions) {
  EXPECT_EQ(ExcelSerialToDate(1, false), "1900-01-01");
  EXPECT_EQ(ExcelSerialToDate(59, false), "1900-02-28");
  EXPECT_EQ(ExcelSerialToDate(60, false),
            std::nullopt);  // 1900-02-29 never was.
  EXPECT_EQ(ExcelSerialToDate(61, false), "1900-03-01");
  EXPECT_EQ(ExcelSerialToDate(43617, false), "2019-06-01");
  EXPECT_EQ(ExcelSerialToDate(43617.75, false), "2019-06-01");
  EXPECT_EQ(ExcelSerialToDate(2958465, false), "9999-12-31");
  EXPECT_EQ(ExcelSerialToDate(0, false), std::nullopt);
  EXPECT_EQ(ExcelSerialToDate(-1, false), std::nullopt);
  EXPECT_EQ(ExcelSerialToDate(0, true), "1904-01-01");
  EXPECT_EQ(ExcelSerialToDate(42155, true), "2019-06-01");
}

Result ImportXlsx(const std::string& bytes) {
  Result r;
  auto reader = OpenTableBytes(bytes);
  if (!reader.ok()) {
    r.status = reader.status();
    return r;
  }
  auto s =
      ImportMembers(**reader, Options(), [&](int64_t, const v1::Member& m) {
        r.members.push_back(m);
        return absl::OkStatus();
      });
  r.status = s.status();
  if (s.ok()) r.summary = *std::move(s);
  return r;
}

testing::XRow HeaderXRow() {
  std::vector<std::string> h;
  for (const ColumnSpec& c : MemberTemplate().columns) h.emplace_back(c.header);
  return testing::StrRow(h);
}

TEST(ImportMembersTest, XlsxSerialDatesNumbersAndIdNumbersAsNumbers) {
  testing::XRow dated = testing::StrRow(ValidRow(1));
  dated[Col(ingest::Field::kJoinDate)] = XCell::Date(2019, 6, 1);
  dated[Col(ingest::Field::kPhone)] = XCell::Num(13812345678.0);
  dated[Col(ingest::Field::kMigrantWorker)] = XCell::Bool(true);
  testing::XRow id_as_number = testing::StrRow(ValidRow(2));
  id_as_number[Col(ingest::Field::kIdNumber)] =
      XCell::Num(430102199001011234.0);
  testing::XRow error_date = testing::StrRow(ValidRow(3));
  error_date[Col(ingest::Field::kJoinDate)] = XCell::Num(60);
  const Result r = ImportXlsx(
      testing::WriteXlsx({HeaderXRow(), dated, id_as_number, error_date}));
  ASSERT_OK(r.status);
  ASSERT_THAT(r.members, SizeIs(1));
  EXPECT_EQ(r.members[0].join_date(), "2019-06-01");
  EXPECT_EQ(r.members[0].phone(), "13812345678");
  EXPECT_TRUE(r.members[0].migrant_worker());
  EXPECT_THAT(
      r.summary.errors,
      ElementsAre(ErrorIs(3, "公民身份号码", "被保存成了数字，后几位已经丢失"),
                  ErrorIs(4, "入会时间", "不是有效的日期")));
  // An ID number stored as an exact 18-digit integer literal (as some tools
  // write it) is accepted; any other number is not.
  for (const bool exact : {true, false}) {
    std::vector<std::string> h;
    for (const ColumnSpec& c : MemberTemplate().columns)
      h.emplace_back(c.header);
    std::vector<std::string> cells = ValidRow(8);  // Check digit is not X.
    ASSERT_NE(cells[Col(ingest::Field::kIdNumber)].back(), 'X');
    const std::string literal =
        exact ? cells[Col(ingest::Field::kIdNumber)]
              : absl::StrCat(
                    cells[Col(ingest::Field::kIdNumber)].substr(0, 1), ".",
                    cells[Col(ingest::Field::kIdNumber)].substr(1, 14), "E17");
    std::string row2 = "<row r=\"2\">";
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string ref =
          absl::StrCat(std::string(1, static_cast<char>('A' + i)), "2");
      if (static_cast<int>(i) == Col(ingest::Field::kIdNumber)) {
        absl::StrAppend(&row2, "<c r=\"", ref, "\"><v>", literal, "</v></c>");
      } else if (!cells[i].empty()) {
        absl::StrAppend(&row2, "<c r=\"", ref, "\" t=\"inlineStr\"><is><t>",
                        cells[i], "</t></is></c>");
      }
    }
    row2 += "</row>";
    const Result r2 = ImportXlsx(testing::MinimalXlsx(
        testing::SheetXml(testing::InlineRowXml(1, h) + row2)));
    ASSERT_OK(r2.status);
    if (exact) {
      ASSERT_THAT(r2.members, SizeIs(1));
      EXPECT_EQ(r2.members[0].id_number(),
                cells[Col(ingest::Field::kIdNumber)]);
    } else {
      EXPECT_THAT(r2.summary.errors,
                  ElementsAre(ErrorIs(2, "公民身份号码", "被保存成了数字")));
    }
  }
}

TEST(ImportOrgsTest, RegistrationAndProfile) {
  std::vector<std::string> header;
  for (const ColumnSpec& c : OrgTemplate().columns)
    header.emplace_back(c.header);
  SynthGenerator gen(7);
  const v1::Org p = gen.GrassrootsProfile();
  auto row = [&](const std::string& id, const std::string& kind,
                 const std::string& credit,
                 const std::string& region = "430102") {
    return std::vector<std::string>{id,
                                    "长沙市芙蓉区某某公司工会",
                                    kind,
                                    "430102",
                                    region,
                                    "",
                                    "",
                                    credit,
                                    p.chair().name(),
                                    p.chair().phone(),
                                    p.data_admin().name(),
                                    p.data_admin().phone(),
                                    "2019/5/1",
                                    p.contact().name(),
                                    p.contact().phone(),
                                    "120",
                                    "2010-01-01",
                                    "长沙市芙蓉区五一大道1号"};
  };
  std::string bad_credit = p.credit_code();
  bad_credit[17] = bad_credit[17] == '0' ? '1' : '0';
  const std::string csv =
      CsvLine(header) +
      CsvLine(row("430102.9", "基层法人独立工会", p.credit_code())) +
      CsvLine(row("430102.10", "基层法人(独立)工会", bad_credit)) +
      CsvLine(row("430102.9", "市总工会", "")) +
      CsvLine(row("Bad_Id", "区（县）市总工会", "", "")) +
      CsvLine(row("430102.11", "基层联合工会", p.credit_code()));
  auto reader = OpenTableBytes(csv);
  ASSERT_OK(reader.status());
  std::vector<v1::Org> orgs;
  auto s = ImportOrgs(**reader, Options(), [&](int64_t, const v1::Org& o) {
    orgs.push_back(o);
    return absl::OkStatus();
  });
  ASSERT_OK(s.status());
  ASSERT_THAT(orgs, SizeIs(1));
  EXPECT_EQ(orgs[0].id(), "430102.9");
  EXPECT_EQ(orgs[0].kind(), v1::INDEPENDENT_GRASSROOTS);
  EXPECT_EQ(orgs[0].parent_id(), "430102");
  EXPECT_EQ(orgs[0].credit_code(), p.credit_code());
  EXPECT_EQ(orgs[0].data_admin().trained_date(), "2019-05-01");
  EXPECT_EQ(orgs[0].employee_count(), 120);
  EXPECT_EQ(ProfileCompleteness(orgs[0]), 100);
  EXPECT_THAT(
      s->errors,
      ElementsAre(
          ErrorIs(3, "组织类别", "组织类别只能从下拉列表中选择"),
          ErrorIs(3, "统一社会信用代码", "统一社会信用代码校验位错误"),
          ErrorIs(4, "组织编号", "组织编号与第2行重复"),
          ErrorIs(4, "组织类别", "组织类别只能从下拉列表中选择"),
          ErrorIs(5, "组织编号", "组织编号只能包含小写字母"),
          ErrorIs(5, "所属区域", "必须填写所属区域"),
          ErrorIs(6, "统一社会信用代码", "统一社会信用代码与第2行重复")));
}

TEST(ErrorReportTest, CsvWithBomAndEscapes) {
  const std::vector<CellError> errors = {
      {2, "姓名", "=HYPERLINK(\"x\")", "姓名含有无效字符"},
      {3, "公民身份号码", "43010219900101123",
       "公民身份号码应为18位，现为17位"}};
  EXPECT_EQ(
      ErrorReportCsv(errors),
      "\xEF\xBB\xBF行号,列,内容,问题\r\n"
      "2,姓名,\"'=HYPERLINK(\"\"x\"\")\",姓名含有无效字符\r\n"
      "3,公民身份号码,43010219900101123,公民身份号码应为18位，现为17位\r\n");
  const std::string path = testing::TempPath("report.csv");
  ASSERT_OK(WriteErrorReportCsv(path, errors));
  auto reader = OpenTableFile(path);
  ASSERT_OK(reader.status());
  const auto rows = testing::ReadAll(**reader);
  ASSERT_THAT(rows, SizeIs(3));
  EXPECT_EQ(rows[0].cells,
            (std::vector<std::string>{"行号", "列", "内容", "问题"}));
  EXPECT_EQ(rows[1].cells[2], "'=HYPERLINK(\"x\")");
}

}  // namespace
}  // namespace unionsync::ingest
