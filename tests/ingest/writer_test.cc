// Templates and exports, and lossless round trips:
// template -> filled -> read -> Member -> exported -> read again.
#include "ingest/writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/mask.h"
#include "ingest/import.h"
#include "ingest/table.h"
#include "ingest/template.h"
#include "ingest/test_files.h"
#include "testing/status_matchers.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::unionsync::testing::StatusIs;

ImportOptions Options() {
  ImportOptions o;
  o.org_id = "g1";
  o.today = absl::CivilDay(2024, 1, 1);
  return o;
}

struct Imported {
  ImportSummary summary;
  std::vector<v1::Member> members;
};

absl::StatusOr<Imported> Import(absl::string_view bytes,
                                ReaderOptions ro = {}) {
  ro.sheet_name = std::string(MemberTemplate().sheet_name);
  ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader,
                   OpenTableBytes(bytes, ro));
  Imported out;
  ASSIGN_OR_RETURN(
      out.summary,
      ImportMembers(*reader, Options(), [&](int64_t, const v1::Member& m) {
        out.members.push_back(m);
        return absl::OkStatus();
      }));
  return out;
}

void ExpectSameMembers(const std::vector<v1::Member>& got,
                       const std::vector<v1::Member>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].SerializeAsString(), want[i].SerializeAsString())
        << i << "\n"
        << got[i].DebugString() << "\n"
        << want[i].DebugString();
  }
}

// Members with awkward but valid values: formula-like text, quotes, commas,
// empty optional fields, a rare character (outside GBK) when `rare`.
std::vector<v1::Member> AwkwardMembers(int n, bool rare) {
  std::vector<v1::Member> ms = testing::Members(n, 1000);
  ms[0].set_workplace("=HYPERLINK(\"http://x\",\"点我\")");
  ms[1].set_workplace("'引号开头, 含逗号");
  ms[2].set_card_number("-123");
  ms[3].clear_phone();
  ms[3].clear_education();
  ms[3].clear_join_date();
  ms[3].clear_card_number();
  ms[3].clear_dues_status();
  ms[3].clear_ethnicity();
  ms[3].clear_workplace();
  if (rare) ms[4].set_name("张𠮷");
  return ms;
}

TEST(TemplateWriterTest, XlsxTemplate) {
  ASSERT_OK_AND_ASSIGN(const std::string bytes,
                       TemplateBytes(MemberTemplate()));
  // The reader sees exactly the header row.
  ASSERT_OK_AND_ASSIGN(auto reader, OpenTableBytes(bytes));
  const auto rows = testing::ReadAll(*reader);
  ASSERT_THAT(rows, SizeIs(1));
  std::vector<std::string> headers;
  for (const ColumnSpec& c : MemberTemplate().columns)
    headers.emplace_back(c.header);
  EXPECT_EQ(rows[0].cells, headers);
  // An empty template imports as zero rows.
  ASSERT_OK_AND_ASSIGN(const Imported imported, Import(bytes));
  EXPECT_EQ(imported.summary.rows, 0);
  // The notes sheet, read as a sheet of its own, explains every column.
  ReaderOptions notes;
  notes.sheet_name = std::string(kNotesSheetName);
  ASSERT_OK_AND_ASSIGN(auto notes_reader, OpenTableBytes(bytes, notes));
  std::string all;
  for (const auto& r : testing::ReadAll(*notes_reader)) {
    absl::StrAppend(&all, absl::StrJoin(r.cells, "|"), "\n");
  }
  for (const ColumnSpec& c : MemberTemplate().columns) {
    EXPECT_THAT(
        all, HasSubstr(absl::StrCat(c.header, "|", c.required ? "必填" : "选填",
                                    "|", c.note)));
  }
  EXPECT_THAT(all, HasSubstr("高中/中专/技校、大专"));
  // Drop-down lists: their values on the hidden sheet.
  ReaderOptions lists;
  lists.sheet_name = "下拉选项";
  ASSERT_OK_AND_ASSIGN(auto lists_reader, OpenTableBytes(bytes, lists));
  const auto list_rows = testing::ReadAll(*lists_reader);
  ASSERT_GE(list_rows.size(), 3u);
  EXPECT_THAT(list_rows[0].cells, ::testing::Contains("性别"));
  EXPECT_THAT(list_rows[1].cells, ::testing::Contains("男"));
  EXPECT_THAT(list_rows[2].cells, ::testing::Contains("女"));
}

TEST(TemplateWriterTest, XlsxTemplatePartsHaveValidationsAndFrozenHeader) {
  const std::string path = testing::TempPath("t.xlsx");
  WriteOptions o;
  o.fingerprint = "fp&1";
  ASSERT_OK(WriteTemplate(OrgTemplate(), path, o));
  const std::string bytes = testing::ReadBytes(path);
  ASSERT_OK_AND_ASSIGN(auto reader, OpenTableBytes(bytes));
  EXPECT_THAT(testing::ReadAll(*reader), SizeIs(1));
  EXPECT_EQ(reader->fingerprint(), "fp&1");
  const std::string workbook = testing::UnzipPart(bytes, "xl/workbook.xml");
  EXPECT_THAT(workbook, HasSubstr(R"(<sheet name="组织信息" sheetId="1")"));
  EXPECT_THAT(workbook, HasSubstr(R"(<sheet name="填写说明" sheetId="2")"));
  EXPECT_THAT(
      workbook,
      HasSubstr(R"(<sheet name="下拉选项" sheetId="3" state="hidden")"));
  const std::string sheet =
      testing::UnzipPart(bytes, "xl/worksheets/sheet1.xml");
  // Header row frozen.
  EXPECT_THAT(
      sheet,
      HasSubstr(
          R"(<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>)"));
  // Column widths, one validation per column, the kinds' drop-down list.
  EXPECT_THAT(sheet, HasSubstr("<cols>"));
  EXPECT_THAT(sheet,
              HasSubstr(absl::StrCat("<dataValidations count=\"",
                                     OrgTemplate().columns.size(), "\">")));
  EXPECT_THAT(sheet, HasSubstr("<formula1>'下拉选项'!$A$2:$A$10</formula1>"));
  EXPECT_THAT(sheet, HasSubstr(R"(promptTitle="组织类别")"));
  // The fingerprint in the footer ('&' doubled) and the properties.
  EXPECT_THAT(
      sheet,
      HasSubstr("<oddFooter>&amp;L# 导出指纹: fp&amp;&amp;1</oddFooter>"));
  EXPECT_THAT(testing::UnzipPart(bytes, "docProps/custom.xml"),
              HasSubstr(R"(name="导出指纹")"));
  EXPECT_THAT(testing::UnzipPart(bytes, "docProps/core.xml"),
              HasSubstr("<dc:title>工会组织信息采集表</dc:title>"));
  // Bold headers, text format for codes.
  const std::string styles = testing::UnzipPart(bytes, "xl/styles.xml");
  EXPECT_THAT(styles, HasSubstr("<b/>"));
  EXPECT_THAT(styles, HasSubstr(R"(formatCode="@")"));  // Text.
}

TEST(TemplateWriterTest, CsvTemplate) {
  WriteOptions o;
  o.format = FileFormat::kCsv;
  ASSERT_OK_AND_ASSIGN(const std::string bytes,
                       TemplateBytes(MemberTemplate(), o));
  EXPECT_EQ(bytes,
            absl::StrCat("\xEF\xBB\xBF", testing::MemberHeaderCsv(), "\r\n"));
  ASSERT_OK_AND_ASSIGN(const std::string org, TemplateBytes(OrgTemplate(), o));
  EXPECT_TRUE(absl::StartsWith(
      org, "\xEF\xBB\xBF组织编号,组织名称,组织类别,上级组织编号"));
}

TEST(RoundTripTest, XlsxFilledByAClerk) {
  // A clerk fills the downloaded template in Excel: shared strings, a real
  // date cell, a phone number typed as a number, TRUE in the yes/no column.
  const std::vector<v1::Member> source = AwkwardMembers(20, /*rare=*/true);
  std::vector<testing::XRow> rows;
  {
    std::vector<std::string> h;
    for (const ColumnSpec& c : MemberTemplate().columns)
      h.emplace_back(c.header);
    rows.push_back(testing::StrRow(h));
  }
  const int join = ColumnIndex(MemberTemplate(), Field::kJoinDate);
  const int phone = ColumnIndex(MemberTemplate(), Field::kPhone);
  for (size_t i = 0; i < source.size(); ++i) {
    std::vector<std::string> cells = MemberToCells(source[i]);
    // What a clerk types is not escaped.
    cells[ColumnIndex(MemberTemplate(), Field::kWorkplace)] =
        source[i].workplace();
    cells[ColumnIndex(MemberTemplate(), Field::kCardNumber)] =
        source[i].card_number();
    testing::XRow row = testing::StrRow(cells);
    if (i % 2 == 0 && !source[i].join_date().empty()) {
      absl::CivilDay d;
      ASSERT_TRUE(absl::ParseCivilTime(source[i].join_date(), &d));
      row[join] = testing::XCell::Date(d.year(), d.month(), d.day());
    }
    if (i % 3 == 0 && !source[i].phone().empty()) {
      row[phone] = testing::XCell::Num(std::stod(source[i].phone()));
    }
    rows.push_back(row);
  }
  // Clerk-typed values that start with '=' are stored as strings by Excel
  // (the user typed them as text); our libxlsxwriter helper writes strings.
  ASSERT_OK_AND_ASSIGN(const Imported first, Import(testing::WriteXlsx(rows)));
  ASSERT_TRUE(first.summary.ok()) << first.summary.errors[0].column << ": "
                                  << first.summary.errors[0].reason;
  ExpectSameMembers(first.members, source);

  // Exported again (XLSX, with a fingerprint) and read back: identical.
  ExportOptions eo;
  eo.file.fingerprint = "审批号 2019-007 / 7f3a9c";
  ASSERT_OK_AND_ASSIGN(const std::string exported,
                       ExportMembersToBytes(first.members, eo));
  ASSERT_OK_AND_ASSIGN(const Imported second, Import(exported));
  ASSERT_TRUE(second.summary.ok()) << second.summary.errors[0].reason;
  ExpectSameMembers(second.members, source);
  EXPECT_EQ(second.summary.fingerprint, "审批号 2019-007 / 7f3a9c");
}

class CsvRoundTripTest : public ::testing::TestWithParam<TextEncoding> {};

TEST_P(CsvRoundTripTest, ExportThenImport) {
  const TextEncoding enc = GetParam();
  const std::vector<v1::Member> source =
      AwkwardMembers(25, /*rare=*/enc != TextEncoding::kGbk);
  // The clerk's file: the CSV template plus rows, in the encoding.
  WriteOptions t;
  t.format = FileFormat::kCsv;
  ASSERT_OK_AND_ASSIGN(std::string filled, TemplateBytes(MemberTemplate(), t));
  for (const v1::Member& m : source)
    filled += testing::CsvLine(MemberToCells(m));
  if (enc == TextEncoding::kGbk)
    filled = testing::Iconv(filled.substr(3), "GBK");
  if (enc == TextEncoding::kGb18030)
    filled = testing::Iconv(filled.substr(3), "GB18030");
  ASSERT_OK_AND_ASSIGN(const Imported first, Import(filled));
  ASSERT_TRUE(first.summary.ok()) << first.summary.errors[0].reason;
  ExpectSameMembers(first.members, source);

  ExportOptions eo;
  eo.file.format = FileFormat::kCsv;
  eo.file.encoding = enc;
  eo.file.fingerprint = "fp-123";
  ASSERT_OK_AND_ASSIGN(const std::string exported,
                       ExportMembersToBytes(first.members, eo));
  EXPECT_EQ(absl::StartsWith(exported, "\xEF\xBB\xBF"),
            enc == TextEncoding::kUtf8);
  for (const TextEncoding named : {TextEncoding::kAuto, enc}) {
    ReaderOptions ro;
    ro.encoding = named;
    ASSERT_OK_AND_ASSIGN(const Imported second, Import(exported, ro));
    ASSERT_TRUE(second.summary.ok()) << second.summary.errors[0].reason;
    ExpectSameMembers(second.members, source);
    EXPECT_EQ(second.summary.fingerprint, "fp-123");
  }
  if (enc == TextEncoding::kUtf8) {
    // Without the BOM (as some tools save UTF-8).
    ASSERT_OK_AND_ASSIGN(const Imported no_bom, Import(exported.substr(3)));
    ExpectSameMembers(no_bom.members, source);
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, CsvRoundTripTest,
                         ::testing::Values(TextEncoding::kUtf8,
                                           TextEncoding::kGbk,
                                           TextEncoding::kGb18030));

TEST(ExportTest, MaskingAndFingerprintLine) {
  std::vector<v1::Member> ms = testing::Members(2);
  EXPECT_EQ(MaskIdNumber("430102199001011234"), "430102********1234");
  EXPECT_EQ(MaskPhone("13812345678"), "138****5678");
  EXPECT_EQ(MaskIdNumber("123"), "***");
  ExportOptions eo;
  eo.file.format = FileFormat::kCsv;
  eo.file.fingerprint = "abc";
  eo.mask.id_number = true;
  eo.mask.phone = true;
  ASSERT_OK_AND_ASSIGN(const std::string csv, ExportMembersToBytes(ms, eo));
  EXPECT_TRUE(
      absl::StartsWith(csv, "\xEF\xBB\xBF# 导出指纹: abc\r\n姓名,性别"));
  EXPECT_THAT(csv, HasSubstr(MaskIdNumber(ms[0].id_number())));
  EXPECT_THAT(csv, ::testing::Not(HasSubstr(ms[0].id_number())));
  EXPECT_THAT(csv, ::testing::Not(HasSubstr(ms[0].phone())));
  // A masked export cannot be imported as real data.
  ASSERT_OK_AND_ASSIGN(const Imported back, Import(csv));
  EXPECT_EQ(back.summary.valid_rows, 0);
  EXPECT_EQ(back.summary.fingerprint, "abc");
  // XLSX: masked too, fingerprint in the properties.
  eo.file.format = FileFormat::kXlsx;
  ASSERT_OK_AND_ASSIGN(const std::string xlsx, ExportMembersToBytes(ms, eo));
  ASSERT_OK_AND_ASSIGN(auto reader, OpenTableBytes(xlsx));
  const auto rows = testing::ReadAll(*reader);
  ASSERT_THAT(rows, SizeIs(3));
  EXPECT_EQ(rows[1].cells[ColumnIndex(MemberTemplate(), Field::kIdNumber)],
            MaskIdNumber(ms[0].id_number()));
  EXPECT_EQ(reader->fingerprint(), "abc");
}

TEST(ExportTest, GbkCannotHoldEveryCharacter) {
  std::vector<v1::Member> ms = testing::Members(3);
  ms[1].set_name("张𠮷");
  ExportOptions eo;
  eo.file.format = FileFormat::kCsv;
  eo.file.encoding = TextEncoding::kGbk;
  EXPECT_THAT(ExportMembersToBytes(ms, eo).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("第2条数据含有 GBK 编码无法表示的字符")));
  eo.file.encoding = TextEncoding::kGb18030;
  EXPECT_OK(ExportMembersToBytes(ms, eo).status());
}

TEST(ConcurrencyTest, ReadersShareNoState) {
  const std::vector<v1::Member> source = testing::Members(300);
  ExportOptions csv;
  csv.file.format = FileFormat::kCsv;
  csv.file.encoding = TextEncoding::kGbk;
  ASSERT_OK_AND_ASSIGN(const std::string csv_bytes,
                       ExportMembersToBytes(source, csv));
  ASSERT_OK_AND_ASSIGN(const std::string xlsx_bytes,
                       ExportMembersToBytes(source, {}));
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 5; ++k) {
        auto got = Import(t % 2 ? csv_bytes : xlsx_bytes);
        if (got.ok() && got->summary.ok() &&
            got->members.size() == source.size() &&
            got->members.back().SerializeAsString() ==
                source.back().SerializeAsString()) {
          ++ok[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, std::vector<int>(8, 5));
}

}  // namespace
}  // namespace unionsync::ingest
