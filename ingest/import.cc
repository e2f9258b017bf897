#include "ingest/import.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "common/org_rules.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "ingest/internal.h"
#include "ingest/table.h"
#include "ingest/template.h"
#include "unionsync/v1/model.pb.h"

namespace unionsync::ingest {
namespace {

using internal::ColumnLetters;

constexpr size_t kReportChars = 40;

// ---- Text helpers ----

// Strips ASCII white space, U+3000 (ideographic space) and U+00A0 (no-break
// space) at both ends.
absl::string_view Trim(absl::string_view s) {
  while (true) {
    const size_t before = s.size();
    s = absl::StripAsciiWhitespace(s);
    for (absl::string_view sp : {"\xE3\x80\x80", "\xC2\xA0"}) {
      if (absl::ConsumePrefix(&s, sp) || absl::ConsumeSuffix(&s, sp)) break;
    }
    if (s.size() == before) return s;
  }
}

// Full-width digits and Latin letters (as typed with a Chinese input method)
// to ASCII, for codes such as ID numbers and phone numbers.
std::string FullwidthToAscii(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    if (i + 2 < s.size() && b(i) == 0xEF) {
      const unsigned cp =
          ((b(i) & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
      if ((cp >= 0xFF10 && cp <= 0xFF19) || (cp >= 0xFF21 && cp <= 0xFF3A) ||
          (cp >= 0xFF41 && cp <= 0xFF5A) || cp == 0xFF0D) {
        out.push_back(static_cast<char>(cp - 0xFEE0));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// At most `max_chars` code points, "…" appended when cut.
std::string Truncate(absl::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars++ == max_chars) return absl::StrCat(s.substr(0, i), "…");
  }
  return std::string(s);
}

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// An XLSX number as text: integers as written ("13812345678"), other values
// without exponent where they are whole numbers below 10^15.
std::string NumberText(absl::string_view literal) {
  if (AllDigits(literal)) return std::string(literal);
  double v;
  if (!absl::SimpleAtod(literal, &v)) return std::string(literal);
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return absl::StrFormat("%.0f", v);
  }
  return absl::StrFormat("%.15g", v);
}

bool HasControl(absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return true;
    // C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8.
    if (c == 0xC2 && i + 1 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      return true;
    }
  }
  return false;
}

std::string QuoteList(absl::Span<const absl::string_view> values) {
  if (values.size() == 2) {
    return absl::StrCat("“", values[0], "”或“", values[1], "”");
  }
  return absl::StrCat("以下之一：", absl::StrJoin(values, "、"));
}

// Parses the date spellings clerks and spreadsheets produce: 2019-06-01,
// 2019-6-1, 2019/6/1, 2019.6.1, 2019年6月1日, 20190601, optionally followed
// by a time of day ("2019/6/1 0:00").
bool ParseLooseDate(absl::string_view s, int* y, int* m, int* d) {
  const size_t space = s.find(' ');
  if (space != absl::string_view::npos) {
    const absl::string_view time = Trim(s.substr(space + 1));
    for (char c : time) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != ':') {
        return false;
      }
    }
    s = s.substr(0, space);
  }
  if (s.size() == 8 && AllDigits(s)) {
    return absl::SimpleAtoi(s.substr(0, 4), y) &&
           absl::SimpleAtoi(s.substr(4, 2), m) &&
           absl::SimpleAtoi(s.substr(6, 2), d);
  }
  std::string t =
      absl::StrReplaceAll(s, {{"年", "-"}, {"月", "-"}, {"日", ""}});
  std::vector<absl::string_view> parts =
      absl::StrSplit(t, absl::ByAnyChar("-/."));
  if (parts.size() != 3 || parts[0].size() != 4 || parts[1].empty() ||
      parts[1].size() > 2 || parts[2].empty() || parts[2].size() > 2) {
    return false;
  }
  for (absl::string_view p : parts) {
    if (!AllDigits(p)) return false;
  }
  return absl::SimpleAtoi(parts[0], y) && absl::SimpleAtoi(parts[1], m) &&
         absl::SimpleAtoi(parts[2], d);
}

// ---- Headers ----

struct HeaderMap {
  const TemplateSpec* spec = nullptr;
  std::vector<int> spec_to_col;  // File column of each template column.
  std::vector<bool> mapped;      // By file column: under a template header.
  bool set = false;

  absl::Status Set(const Row& header) {
    spec_to_col.assign(spec->columns.size(), -1);
    mapped.assign(header.size(), false);
    std::vector<std::string> problems;
    for (size_t col = 0; col < header.size(); ++col) {
      const absl::string_view h = Trim(header.text(col));
      if (h.empty()) continue;
      int found = -1;
      for (size_t i = 0; i < spec->columns.size(); ++i) {
        if (spec->columns[i].header == h) found = static_cast<int>(i);
      }
      const std::string where =
          absl::StrCat("第", col + 1, "列（", ColumnLetters(col), "列）");
      if (found < 0) {
        problems.push_back(
            absl::StrCat(where, "的表头“", Truncate(h, 20), "”不是模板中的列"));
      } else if (spec_to_col[found] >= 0) {
        problems.push_back(absl::StrCat("表头“", h, "”出现了两次（第",
                                        spec_to_col[found] + 1, "列和第",
                                        col + 1, "列）"));
      } else {
        spec_to_col[found] = static_cast<int>(col);
        mapped[col] = true;
      }
    }
    std::vector<absl::string_view> missing;
    for (size_t i = 0; i < spec->columns.size(); ++i) {
      if (spec_to_col[i] < 0) missing.push_back(spec->columns[i].header);
    }
    if (!missing.empty()) {
      problems.push_back(
          absl::StrCat("缺少列“", absl::StrJoin(missing, "”“"), "”"));
    }
    if (!problems.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("第", header.number(), "行的表头与统一模板“",
                       spec->title, "”不符：", absl::StrJoin(problems, "；"),
                       "。请下载最新模板，不要修改、删除或增加表头"));
    }
    set = true;
    return absl::OkStatus();
  }
};

// ---- One row ----

// Reads and checks the cells of one row, collecting errors.
class RowContext {
 public:
  RowContext(const Row& row, const HeaderMap& headers, bool date1904,
             std::vector<CellError>* errors)
      : row_(row), headers_(headers), date1904_(date1904), errors_(errors) {}

  bool ok() const { return ok_; }
  const ColumnSpec& spec(int i) const { return headers_.spec->columns[i]; }
  const Cell& cell(int i) const { return row_.cell(headers_.spec_to_col[i]); }

  void Error(int i, std::string reason) {
    ok_ = false;
    errors_->push_back({row_.number(), std::string(spec(i).header),
                        Truncate(cell(i).text, kReportChars),
                        std::move(reason)});
  }

  // Content under columns without a template header is an error, not lost.
  void CheckUntitledColumns() {
    for (size_t col = 0; col < row_.size(); ++col) {
      if ((col >= headers_.mapped.size() || !headers_.mapped[col]) &&
          !Trim(row_.text(col)).empty()) {
        ok_ = false;
        errors_->push_back(
            {row_.number(), absl::StrCat(ColumnLetters(col), "列"),
             Truncate(row_.text(col), kReportChars),
             "该列没有表头，内容无法导入；请删除或移到正确的列"});
      }
    }
  }

  // The cell's value, trimmed and normalised for its kind; nullopt after
  // recording an error when the cell cannot hold a value of that kind.
  std::optional<std::string> Get(int i) {
    const ColumnSpec& cs = spec(i);
    const Cell& c = cell(i);
    switch (c.type) {
      case CellType::kError:
        Error(i, absl::StrCat(cs.header, "单元格是错误值，请改为正确的内容"));
        return std::nullopt;
      case CellType::kBool:
        if (cs.allowed_values.data() == YesNoValues().data()) {
          return std::string(c.text == "TRUE" ? "是" : "否");
        }
        return c.text;
      case CellType::kNumber:
        if (cs.kind == ValueKind::kDate) {
          double serial;
          std::optional<std::string> date;
          if (absl::SimpleAtod(c.text, &serial)) {
            date = ExcelSerialToDate(serial, date1904_);
          }
          if (!date.has_value()) {
            Error(i,
                  absl::StrCat(cs.header, "不是有效的日期，应写作 2019-06-01"));
          }
          return date;
        }
        if (cs.kind == ValueKind::kIdNumber) {
          if (c.text.size() == 18 && AllDigits(c.text)) return c.text;
          Error(i, absl::StrCat(cs.header,
                                "被保存成了数字，后几位已经丢失；请把该列设为"
                                "“文本”格式后重新输入完整号码"));
          return std::nullopt;
        }
        return NumberText(c.text);
      case CellType::kText:
        break;
    }
    const absl::string_view v = internal::UnescapeFormula(Trim(c.text));
    if (cs.kind == ValueKind::kText || cs.kind == ValueKind::kCode) {
      return std::string(v);
    }
    return std::string(Trim(FullwidthToAscii(v)));
  }

  // Free text of at most `max_chars`; nullopt (error recorded) if invalid.
  std::optional<std::string> Text(int i, size_t max_chars,
                                  size_t min_chars = 0) {
    std::optional<std::string> v = Get(i);
    if (!v.has_value()) return v;
    const ColumnSpec& cs = spec(i);
    if (v->empty()) {
      if (cs.required) {
        Error(i, absl::StrCat(cs.header, "为必填项"));
        return std::nullopt;
      }
      return v;
    }
    if (HasControl(*v)) {
      Error(i, absl::StrCat(cs.header, "不能含有换行、制表符等控制字符"));
      return std::nullopt;
    }
    const size_t n = Utf8Length(*v);
    if (n > max_chars) {
      Error(i, absl::StrCat(cs.header, "最多", max_chars, "个字，现有", n,
                            "个字"));
      return std::nullopt;
    }
    if (n < min_chars) {
      Error(i, absl::StrCat(cs.header, "至少", min_chars, "个字"));
      return std::nullopt;
    }
    if (!ValidateText(cs.header, *v, max_chars, cs.required).ok()) {
      Error(i, absl::StrCat(cs.header, "含有无效字符"));
      return std::nullopt;
    }
    return v;
  }

  // Index into `values` (accepting `aliases` mapped to an index), -1 if the
  // optional cell is empty, nullopt (error recorded) otherwise.
  std::optional<int> Code(
      int i,
      std::initializer_list<std::pair<absl::string_view, int>> aliases = {}) {
    std::optional<std::string> v = Get(i);
    if (!v.has_value()) return std::nullopt;
    const ColumnSpec& cs = spec(i);
    if (v->empty()) {
      if (!cs.required) return -1;
      Error(i, absl::StrCat(cs.header, "为必填项，只能填写",
                            QuoteList(cs.allowed_values)));
      return std::nullopt;
    }
    for (size_t k = 0; k < cs.allowed_values.size(); ++k) {
      if (cs.allowed_values[k] == *v) return static_cast<int>(k);
    }
    for (const auto& [alias, k] : aliases) {
      if (alias == *v) return k;
    }
    Error(i, absl::StrCat(cs.header, "只能填写", QuoteList(cs.allowed_values)));
    return std::nullopt;
  }

  // A mainland mobile number, "" if the optional cell is empty.
  std::optional<std::string> Mobile(int i) {
    std::optional<std::string> v = Get(i);
    if (!v.has_value() || v->empty()) return v;
    const absl::string_view h = spec(i).header;
    std::string reason;
    if (!AllDigits(*v)) {
      reason = absl::StrCat(h, "只能填写数字，不要加空格、横线或+86");
    } else if (v->size() != 11) {
      reason = absl::StrCat(h, "应为11位数字，现为", v->size(), "位");
    } else if ((*v)[0] != '1') {
      reason = absl::StrCat(h, "应以1开头");
    } else if ((*v)[1] < '3') {
      reason = absl::StrCat(h, "第2位应为3至9");
    } else if (!ValidateMobile(*v).ok()) {
      reason = absl::StrCat(h, "不是有效的手机号码");
    }
    if (!reason.empty()) {
      Error(i, std::move(reason));
      return std::nullopt;
    }
    return v;
  }

  // "YYYY-MM-DD", "" if the optional cell is empty.
  std::optional<std::string> Date(int i, absl::CivilDay today) {
    std::optional<std::string> v = Get(i);
    if (!v.has_value() || v->empty()) return v;
    const absl::string_view h = spec(i).header;
    int y, m, d;
    if (!ParseLooseDate(*v, &y, &m, &d)) {
      Error(i, absl::StrCat(h, "应为日期，写作 2019-06-01"));
      return std::nullopt;
    }
    const std::string date = absl::StrFormat("%04d-%02d-%02d", y, m, d);
    const absl::StatusOr<absl::CivilDay> day = ParseDate(h, date);
    if (!day.ok()) {
      Error(i, absl::StrCat(h, "不是存在的日期（请检查月份和日期）"));
      return std::nullopt;
    }
    if (y < 1900) {
      Error(i, absl::StrCat(h, "早于1900年，请核对"));
      return std::nullopt;
    }
    if (*day > today) {
      Error(i, absl::StrCat(h, "晚于今天，请核对"));
      return std::nullopt;
    }
    return date;
  }

 private:
  const Row& row_;
  const HeaderMap& headers_;
  const bool date1904_;
  std::vector<CellError>* const errors_;
  bool ok_ = true;
};

// The 17 digits before the check character as a number, for duplicate checks.
uint64_t IdKey(absl::string_view id) {
  uint64_t k = 0;
  for (size_t i = 0; i < 17; ++i) k = k * 10 + (id[i] - '0');
  return k;
}

std::optional<std::string> CreditCodeReason(absl::string_view code) {
  if (ValidateCreditCode(code).ok()) return std::nullopt;
  if (code.size() != 18) {
    return absl::StrCat("统一社会信用代码应为18位，现为", Utf8Length(code),
                        "位");
  }
  constexpr absl::string_view kAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  for (char c : code) {
    if (kAlphabet.find(c) == absl::string_view::npos) {
      return "统一社会信用代码含有不允许的字符（只用数字和大写字母，不用I、O、S"
             "、"
             "V、Z）";
    }
  }
  for (size_t i = 2; i < 8; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(code[i]))) {
      return "统一社会信用代码第3至8位（登记管理机关行政区划码）应为数字";
    }
  }
  return "统一社会信用代码校验位错误，请核对";
}

bool IsSystemCode(absl::string_view s) {
  if (s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// Imports every row of `reader` with `mapper`.
template <typename Mapper, typename Record>
absl::StatusOr<ImportSummary> ImportAll(
    TableReader& reader, Mapper& mapper, const ImportOptions& options,
    absl::FunctionRef<absl::Status(int64_t, const Record&)> on_valid) {
  ImportSummary summary;
  ASSIGN_OR_RETURN(const Row* header, reader.Next());
  if (header == nullptr) {
    return absl::InvalidArgumentError(
        "文件是空的，没有表头；请使用下载的统一模板填写后再导入");
  }
  if (header->IsBlank()) {
    return absl::InvalidArgumentError(
        absl::StrCat("第", header->number(),
                     "行应为模板的表头，但它是空的；请不要在表头上方插入空行"));
  }
  RETURN_IF_ERROR(mapper.SetHeader(*header));
  mapper.set_date1904(reader.date1904());
  Record record;
  std::vector<CellError> errors;
  while (true) {
    ASSIGN_OR_RETURN(const Row* row, reader.Next());
    if (row == nullptr) break;
    if (row->IsBlank()) continue;
    ++summary.rows;
    errors.clear();
    if (mapper.Map(*row, &record, &errors)) {
      ++summary.valid_rows;
      RETURN_IF_ERROR(on_valid(row->number(), record));
      continue;
    }
    ++summary.invalid_rows;
    summary.total_errors += errors.size();
    for (CellError& e : errors) {
      if (summary.errors.size() >= options.max_errors) break;
      summary.errors.push_back(std::move(e));
    }
  }
  summary.fingerprint = reader.fingerprint();
  return summary;
}

}  // namespace

std::optional<std::string> ExcelSerialToDate(double serial, bool date1904) {
  if (!std::isfinite(serial) || serial < 0 || serial > 2958466) {
    return std::nullopt;
  }
  const int64_t days = static_cast<int64_t>(std::floor(serial));
  absl::CivilDay day;
  if (date1904) {
    day = absl::CivilDay(1904, 1, 1) + days;
  } else {
    if (days < 1 || days == 60) return std::nullopt;
    // Excel counts a 1900-02-29 that never was (serial 60).
    day = absl::CivilDay(1899, 12, 31) + (days < 60 ? days : days - 1);
  }
  if (day.year() < 1900 || day.year() > 9999) return std::nullopt;
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

// ---- Members ----

struct MemberRowMapper::State {
  ImportOptions options;
  absl::CivilDay today;
  HeaderMap headers;
  bool date1904 = false;
  absl::flat_hash_map<uint64_t, int64_t> id_rows;  // ID number -> first row.
  int name, gender, ethnicity, id_number, phone, education, workplace,
      join_date, card_number, migrant, dues;
};

MemberRowMapper::MemberRowMapper(const ImportOptions& options)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = options;
  s.today = options.today.value_or(ChinaToday());
  const TemplateSpec& spec = MemberTemplate();
  s.headers.spec = &spec;
  s.name = ColumnIndex(spec, Field::kName);
  s.gender = ColumnIndex(spec, Field::kGender);
  s.ethnicity = ColumnIndex(spec, Field::kEthnicity);
  s.id_number = ColumnIndex(spec, Field::kIdNumber);
  s.phone = ColumnIndex(spec, Field::kPhone);
  s.education = ColumnIndex(spec, Field::kEducation);
  s.workplace = ColumnIndex(spec, Field::kWorkplace);
  s.join_date = ColumnIndex(spec, Field::kJoinDate);
  s.card_number = ColumnIndex(spec, Field::kCardNumber);
  s.migrant = ColumnIndex(spec, Field::kMigrantWorker);
  s.dues = ColumnIndex(spec, Field::kDuesStatus);
}

MemberRowMapper::~MemberRowMapper() = default;

absl::Status MemberRowMapper::SetHeader(const Row& header) {
  return state_->headers.Set(header);
}

void MemberRowMapper::set_date1904(bool date1904) {
  state_->date1904 = date1904;
}

bool MemberRowMapper::Map(const Row& row, v1::Member* m,
                          std::vector<CellError>* errors) {
  State& s = *state_;
  m->Clear();
  if (!s.headers.set) {
    errors->push_back({row.number(), "", "", "未设置表头"});
    return false;
  }
  m->set_org_id(s.options.org_id);
  m->set_status(v1::MEMBER_ACTIVE);
  RowContext ctx(row, s.headers, s.date1904, errors);
  ctx.CheckUntitledColumns();

  if (auto v = ctx.Text(s.name, 50)) m->set_name(*v);
  if (auto k = ctx.Code(s.gender, {{"男性", 0}, {"女性", 1}})) {
    m->set_gender(*k == 0 ? v1::MALE : v1::FEMALE);
  }
  if (auto v = ctx.Text(s.ethnicity, 20)) m->set_ethnicity(*v);

  bool id_ok = false, male = false;
  if (auto v = ctx.Get(s.id_number)) {
    const std::string id = NormalizeIdNumber(*v);
    if (id.empty()) {
      ctx.Error(s.id_number, "公民身份号码为必填项");
    } else if (auto reason = IdNumberReason(id, s.today, &male)) {
      ctx.Error(s.id_number, *std::move(reason));
    } else {
      id_ok = true;
      m->set_id_number(id);
      const auto [it, inserted] =
          s.id_rows.try_emplace(IdKey(id), row.number());
      if (!inserted) {
        ctx.Error(s.id_number, absl::StrCat("公民身份号码与第", it->second,
                                            "行重复，同一人只能填写一次"));
      }
    }
  }
  if (auto v = ctx.Mobile(s.phone)) m->set_phone(*v);
  if (auto k = ctx.Code(s.education, {{"高中", 2},
                                      {"中专", 2},
                                      {"技校", 2},
                                      {"职高", 2},
                                      {"专科", 3},
                                      {"大学专科", 3},
                                      {"大学本科", 4},
                                      {"硕士", 5},
                                      {"研究生", 5},
                                      {"博士", 6}})) {
    if (*k >= 0) m->set_education(static_cast<v1::Education>(*k + 1));
  }
  if (auto v = ctx.Text(s.workplace, 100)) m->set_workplace(*v);
  if (auto v = ctx.Date(s.join_date, s.today)) m->set_join_date(*v);
  if (auto v = ctx.Get(s.card_number)) {
    bool chars_ok = true;
    for (char c : *v) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        chars_ok = false;
      }
    }
    if (!chars_ok) {
      ctx.Error(s.card_number, "会员证号只能包含字母、数字和“-”");
    } else if (v->size() > 32) {
      ctx.Error(s.card_number, "会员证号最多32个字符");
    } else {
      m->set_card_number(*v);
    }
  }
  if (auto k = ctx.Code(s.migrant)) m->set_migrant_worker(*k == 0);
  if (auto k = ctx.Code(s.dues, {{"已缴", 0}, {"未缴", 1}})) {
    if (*k >= 0) m->set_dues_status(static_cast<v1::DuesStatus>(*k + 1));
  }

  // Across cells.
  if (id_ok && m->gender() != v1::GENDER_UNSPECIFIED &&
      (m->gender() == v1::MALE) != male) {
    ctx.Error(s.gender,
              absl::StrCat("性别与公民身份号码不符：号码第17位是",
                           male ? "奇数，应为“男”" : "偶数，应为“女”"));
  }
  if (id_ok && !m->join_date().empty()) {
    const absl::StatusOr<IdNumberInfo> info =
        ParseIdNumber(m->id_number(), s.today);
    const absl::StatusOr<absl::CivilDay> join =
        ParseDate("join_date", m->join_date());
    if (info.ok() && join.ok() && *join < info->birth_date) {
      ctx.Error(s.join_date, "入会时间早于公民身份号码中的出生日期，请核对");
    }
  }
  if (!ctx.ok()) return false;
  // The rules of the API itself, so that an imported row is never refused
  // later.
  if (absl::Status st = ValidateMember(*m, s.today); !st.ok()) {
    errors->push_back(
        {row.number(), "", "", absl::StrCat("记录未通过校验：", st.message())});
    return false;
  }
  return true;
}

// ---- Organisations ----

struct OrgRowMapper::State {
  ImportOptions options;
  absl::CivilDay today;
  HeaderMap headers;
  bool date1904 = false;
  absl::flat_hash_map<std::string, int64_t> id_rows;
  absl::flat_hash_map<std::string, int64_t> credit_rows;
};

OrgRowMapper::OrgRowMapper(const ImportOptions& options)
    : state_(std::make_unique<State>()) {
  state_->options = options;
  state_->today = options.today.value_or(ChinaToday());
  state_->headers.spec = &OrgTemplate();
}

OrgRowMapper::~OrgRowMapper() = default;

absl::Status OrgRowMapper::SetHeader(const Row& header) {
  return state_->headers.Set(header);
}

void OrgRowMapper::set_date1904(bool date1904) { state_->date1904 = date1904; }

bool OrgRowMapper::Map(const Row& row, v1::Org* org,
                       std::vector<CellError>* errors) {
  State& s = *state_;
  org->Clear();
  if (!s.headers.set) {
    errors->push_back({row.number(), "", "", "未设置表头"});
    return false;
  }
  const TemplateSpec& spec = OrgTemplate();
  const auto col = [&](Field f) { return ColumnIndex(spec, f); };
  RowContext ctx(row, s.headers, s.date1904, errors);
  ctx.CheckUntitledColumns();

  // An organisation id or node id.
  const auto identifier = [&](Field f) -> std::optional<std::string> {
    const int i = col(f);
    std::optional<std::string> v = ctx.Get(i);
    if (!v.has_value()) return v;
    const ColumnSpec& cs = ctx.spec(i);
    if (v->empty()) {
      if (cs.required) {
        ctx.Error(i, absl::StrCat(cs.header, "为必填项"));
        return std::nullopt;
      }
      return v;
    }
    if (!ValidateIdentifier(cs.header, *v).ok()) {
      ctx.Error(i,
                absl::StrCat(cs.header,
                             "只能包含小写字母、数字、“.”和“-”，不能以“.”或“-”"
                             "开头，最多64个字符"));
      return std::nullopt;
    }
    return v;
  };

  if (auto v = identifier(Field::kOrgId)) {
    org->set_id(*v);
    if (!v->empty()) {
      const auto [it, inserted] = s.id_rows.try_emplace(*v, row.number());
      if (!inserted) {
        ctx.Error(col(Field::kOrgId),
                  absl::StrCat("组织编号与第", it->second, "行重复"));
      }
    }
  }
  if (auto v = ctx.Text(col(Field::kOrgName), 100, 2)) org->set_name(*v);
  {
    const int i = col(Field::kOrgKind);
    if (auto v = ctx.Get(i)) {
      absl::StatusOr<v1::OrgKind> kind = ParseOrgKind(*v);
      if (v->empty()) {
        ctx.Error(i, "组织类别为必填项，请从下拉列表选择");
      } else if (!kind.ok() || *kind == v1::CITY_FEDERATION) {
        ctx.Error(i, "组织类别只能从下拉列表中选择，如“基层法人独立工会”");
      } else {
        org->set_kind(*kind);
      }
    }
  }
  if (auto v = identifier(Field::kParentId)) org->set_parent_id(*v);
  {
    const int i = col(Field::kRegion);
    if (auto v = ctx.Get(i)) {
      if (!v->empty() && (v->size() != 6 || !AllDigits(*v))) {
        ctx.Error(i, "所属区域应为6位行政区划代码，如430102");
      } else if (v->empty() && (org->kind() == v1::DISTRICT_FEDERATION ||
                                org->kind() == v1::DEV_ZONE_FEDERATION)) {
        ctx.Error(i, "开发区总工会和区（县）市总工会必须填写所属区域");
      } else {
        org->set_region(*v);
      }
    }
  }
  {
    const int i = col(Field::kSystem);
    if (auto v = ctx.Get(i)) {
      if (!IsSystemCode(*v)) {
        ctx.Error(
            i,
            "所属系统应为小写字母、数字和下划线组成的代码（最多32个字符），如"
            "education");
      } else if (v->empty() && org->kind() == v1::INDUSTRY_UNION) {
        ctx.Error(i, "市产业（系统）工会必须填写所属系统");
      } else {
        org->set_system(*v);
      }
    }
  }
  if (auto v = identifier(Field::kHostNode)) org->set_host_node(*v);
  {
    const int i = col(Field::kCreditCode);
    if (auto v = ctx.Get(i); v.has_value() && !v->empty()) {
      const std::string code = absl::AsciiStrToUpper(*v);
      if (auto reason = CreditCodeReason(code)) {
        ctx.Error(i, *std::move(reason));
      } else {
        org->set_credit_code(code);
        const auto [it, inserted] =
            s.credit_rows.try_emplace(code, row.number());
        if (!inserted) {
          ctx.Error(i,
                    absl::StrCat("统一社会信用代码与第", it->second, "行重复"));
        }
      }
    }
  }
  if (auto v = ctx.Text(col(Field::kChairName), 100)) {
    org->mutable_chair()->set_name(*v);
  }
  if (auto v = ctx.Mobile(col(Field::kChairPhone))) {
    org->mutable_chair()->set_phone(*v);
  }
  if (auto v = ctx.Text(col(Field::kAdminName), 100)) {
    org->mutable_data_admin()->set_name(*v);
  }
  if (auto v = ctx.Mobile(col(Field::kAdminPhone))) {
    org->mutable_data_admin()->set_phone(*v);
  }
  if (auto v = ctx.Date(col(Field::kAdminTrainedDate), s.today)) {
    org->mutable_data_admin()->set_trained_date(*v);
  }
  if (auto v = ctx.Text(col(Field::kContactName), 100)) {
    org->mutable_contact()->set_name(*v);
  }
  if (auto v = ctx.Mobile(col(Field::kContactPhone))) {
    org->mutable_contact()->set_phone(*v);
  }
  {
    const int i = col(Field::kEmployeeCount);
    if (auto v = ctx.Get(i); v.has_value() && !v->empty()) {
      int64_t n;
      if (!AllDigits(*v) || v->size() > 9 || !absl::SimpleAtoi(*v, &n) ||
          n > 10'000'000) {
        ctx.Error(i, "职工人数应为0至10000000的整数");
      } else {
        org->set_employee_count(static_cast<int32_t>(n));
      }
    }
  }
  if (auto v = ctx.Date(col(Field::kFoundingDate), s.today)) {
    org->set_founding_date(*v);
  }
  if (auto v = ctx.Text(col(Field::kAddress), 200)) org->set_address(*v);

  if (!ctx.ok()) return false;
  if (absl::Status st = ValidateOrgProfile(*org); !st.ok()) {
    errors->push_back(
        {row.number(), "", "", absl::StrCat("记录未通过校验：", st.message())});
    return false;
  }
  return true;
}

// ---- Whole files ----

absl::StatusOr<ImportSummary> ImportMembers(
    TableReader& reader, const ImportOptions& options,
    absl::FunctionRef<absl::Status(int64_t row, const v1::Member&)> on_valid) {
  MemberRowMapper mapper(options);
  return ImportAll<MemberRowMapper, v1::Member>(reader, mapper, options,
                                                on_valid);
}

absl::StatusOr<ImportSummary> ImportOrgs(
    TableReader& reader, const ImportOptions& options,
    absl::FunctionRef<absl::Status(int64_t row, const v1::Org&)> on_valid) {
  OrgRowMapper mapper(options);
  return ImportAll<OrgRowMapper, v1::Org>(reader, mapper, options, on_valid);
}

std::string ErrorReportCsv(absl::Span<const CellError> errors) {
  std::string out = "\xEF\xBB\xBF行号,列,内容,问题\r\n";
  for (const CellError& e : errors) {
    absl::StrAppend(&out, e.row, ",");
    internal::AppendCsvField(internal::EscapeFormula(e.column), &out);
    out.push_back(',');
    internal::AppendCsvField(internal::EscapeFormula(e.value), &out);
    out.push_back(',');
    internal::AppendCsvField(internal::EscapeFormula(e.reason), &out);
    out.append("\r\n");
  }
  return out;
}

absl::Status WriteErrorReportCsv(const std::string& path,
                                 absl::Span<const CellError> errors) {
  const std::string csv = ErrorReportCsv(errors);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(absl::StrCat("无法写入 ", path));
  }
  const bool ok = std::fwrite(csv.data(), 1, csv.size(), f) == csv.size();
  if (std::fclose(f) != 0 || !ok) {
    return absl::InternalError(absl::StrCat("写入 ", path, " 失败"));
  }
  return absl::OkStatus();
}

std::optional<std::string> IdNumberReason(absl::string_view id,
                                          absl::CivilDay today, bool* male,
                                          RegionCheck region) {
  const absl::StatusOr<IdNumberInfo> info = ParseIdNumber(id, today, region);
  if (info.ok()) {
    if (male != nullptr) *male = info->male;
    return std::nullopt;
  }
  for (char c : id) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return "公民身份号码只能由数字和X组成（请不要使用汉字或全角符号）";
    }
  }
  if (id.size() != 18) {
    return absl::StrCat("公民身份号码应为18位，现为", id.size(), "位");
  }
  if (!AllDigits(id.substr(0, 17))) return "公民身份号码前17位只能是数字";
  if (!absl::ascii_isdigit(static_cast<unsigned char>(id[17])) &&
      id[17] != 'X') {
    return "公民身份号码最后一位只能是数字或X";
  }
  const absl::string_view msg = info.status().message();
  if (absl::StrContains(msg, "(characters 1-6)")) {
    return absl::StrCat(
        "公民身份号码前六位（地区码）", id.substr(0, 6),
        "不在国家行政区划代码表（GB/T 2260）中，请核对号码；"
        "如身份证上确为此号码，请在“会员”页面逐个录入并勾选确认");
  }
  if (absl::StrContains(msg, "province")) {
    return "公民身份号码前两位不是有效的省级行政区划代码";
  }
  if (absl::StrContains(msg, "before 1900")) {
    return "公民身份号码中的出生年份早于1900年";
  }
  if (absl::StrContains(msg, "after today")) {
    return "公民身份号码中的出生日期晚于今天";
  }
  if (absl::StrContains(msg, "birth date")) {
    return "公民身份号码第7至14位的出生日期不存在";
  }
  if (absl::StrContains(msg, "check character")) {
    return "公民身份号码校验位错误，请核对号码";
  }
  return "公民身份号码无效，请核对号码";
}

}  // namespace unionsync::ingest
