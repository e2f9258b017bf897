#include "dues/dues_file.h"

#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mask.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "ingest/import.h"
#include "ingest/table.h"

namespace unionsync::dues {
namespace {

enum Column { kIdNumber, kPeriod, kAmount, kReference, kPaidOn, kColumns };

// The header a clerk sees for each column, and the names accepted for it.
struct ColumnSpec {
  const char* name;
  std::vector<absl::string_view> aliases;
  bool required;
};
const ColumnSpec& Spec(int c) {
  static const ColumnSpec kSpecs[kColumns] = {
      {"身份证号码", {"身份证号码", "公民身份号码", "身份证号"}, true},
      {"缴费月份", {"缴费月份", "所属月份"}, true},
      {"金额（元）", {"金额（元）", "金额(元)", "金额", "缴费金额"}, true},
      {"交易流水号", {"交易流水号", "流水号"}, true},
      {"缴费日期", {"缴费日期"}, false},
  };
  return kSpecs[c];
}

constexpr int64_t kMaxAmountFen = 100000 * int64_t{100};
constexpr size_t kMaxReferenceBytes = 64;

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Amount in fen from "12", "12.5" or "12.50"; an XLSX number cell may carry
// binary noise ("12.300000000000001"), rounded when it is within 1e-6 fen.
std::optional<int64_t> ParseAmount(const ingest::Cell& cell) {
  const absl::string_view text = absl::StripAsciiWhitespace(cell.text);
  if (cell.type == ingest::CellType::kNumber) {
    double v = 0;
    if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) return std::nullopt;
    const double fen = v * 100;
    const double rounded = std::round(fen);
    if (std::fabs(fen - rounded) > 1e-6 || rounded > 1e15) return std::nullopt;
    return static_cast<int64_t>(rounded);
  }
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('.', 1));
  if (!AllDigits(parts.first) || parts.first.size() > 9) return std::nullopt;
  if (text.find('.') != absl::string_view::npos &&
      (!AllDigits(parts.second) || parts.second.size() > 2)) {
    return std::nullopt;
  }
  int64_t yuan = 0;
  if (!absl::SimpleAtoi(parts.first, &yuan)) return std::nullopt;
  int64_t fen = 0;
  if (!parts.second.empty()) {
    if (!absl::SimpleAtoi(parts.second, &fen)) return std::nullopt;
    if (parts.second.size() == 1) fen *= 10;
  }
  return yuan * 100 + fen;
}

// "YYYY-MM-DD" from "2020-03-05", "2020/3/5" or an XLSX date serial.
std::optional<std::string> ParseDay(const ingest::Cell& cell) {
  const absl::string_view text = absl::StripAsciiWhitespace(cell.text);
  absl::CivilDay day;
  if (cell.type == ingest::CellType::kNumber) {
    int64_t serial = 0;
    if (!absl::SimpleAtoi(text, &serial) || serial < 1 || serial > 80000) {
      return std::nullopt;
    }
    day = absl::CivilDay(1899, 12, 30) + serial;
  } else {
    std::vector<absl::string_view> p =
        absl::StrSplit(text, absl::ByAnyChar("-/"));
    int y = 0, m = 0, d = 0;
    if (p.size() != 3 || p[0].size() != 4 || p[1].size() > 2 ||
        p[2].size() > 2 || !AllDigits(p[0]) || !AllDigits(p[1]) ||
        !AllDigits(p[2]) || !absl::SimpleAtoi(p[0], &y) ||
        !absl::SimpleAtoi(p[1], &m) || !absl::SimpleAtoi(p[2], &d)) {
      return std::nullopt;
    }
    day = absl::CivilDay(y, m, d);
    if (day.year() != y || day.month() != m || day.day() != d) {
      return std::nullopt;
    }
  }
  if (day.year() < 2000 || day.year() > 2099) return std::nullopt;
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

class Errors {
 public:
  explicit Errors(DuesFileSummary* summary) : summary_(summary) {}
  void Add(int64_t row, int column, std::string value, std::string reason) {
    ++summary_->total_errors;
    if (summary_->errors.size() >= kMaxDuesErrors) return;
    v1::ImportCellError& e = summary_->errors.emplace_back();
    e.set_row(row);
    e.set_column(Spec(column).name);
    e.set_value(std::move(value));
    e.set_reason(std::move(reason));
  }

 private:
  DuesFileSummary* summary_;
};

// Column positions from the header row.
absl::StatusOr<std::array<int, kColumns>> MapHeader(const ingest::Row& row) {
  std::array<int, kColumns> at;
  at.fill(-1);
  for (size_t i = 0; i < row.size(); ++i) {
    const absl::string_view h = absl::StripAsciiWhitespace(row.text(i));
    for (int c = 0; c < kColumns; ++c) {
      for (absl::string_view alias : Spec(c).aliases) {
        if (h != alias) continue;
        if (at[c] >= 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "表头中“", Spec(c).name, "”列出现了两次，请只保留一列"));
        }
        at[c] = static_cast<int>(i);
      }
    }
  }
  std::vector<std::string> missing;
  for (int c = 0; c < kColumns; ++c) {
    if (Spec(c).required && at[c] < 0) {
      missing.push_back(absl::StrCat("“", Spec(c).name, "”"));
    }
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "第", row.number(), "行（表头）缺少", absl::StrJoin(missing, "、"),
        "列。缴费文件须有身份证号码、缴费月份、金额（元）、交易流水号四列"));
  }
  return at;
}

}  // namespace

std::string ParseDuesPeriod(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  absl::string_view year, month;
  if (text.size() == 6 && AllDigits(text)) {
    year = text.substr(0, 4);
    month = text.substr(4);
  } else if (absl::EndsWith(text, "月")) {
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(
        text.substr(0, text.size() - 3), absl::MaxSplits("年", 1));
    year = p.first;
    month = p.second;
  } else {
    std::pair<absl::string_view, absl::string_view> p =
        absl::StrSplit(text, absl::MaxSplits(absl::ByAnyChar("-/"), 1));
    year = p.first;
    month = p.second;
  }
  int y = 0, m = 0;
  if (year.size() != 4 || !AllDigits(year) || month.empty() ||
      month.size() > 2 || !AllDigits(month) || !absl::SimpleAtoi(year, &y) ||
      !absl::SimpleAtoi(month, &m) || y < 2000 || y > 2099 || m < 1 || m > 12) {
    return "";
  }
  return absl::StrFormat("%04d-%02d", y, m);
}

absl::StatusOr<DuesFileSummary> ReadDuesFile(
    absl::string_view content,
    absl::FunctionRef<absl::Status(const DuesRow&)> on_valid) {
  if (content.empty()) {
    return absl::InvalidArgumentError("文件是空的，请选择缴费记录文件");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ingest::TableReader> reader,
                   ingest::OpenTableBytes(content));
  const absl::CivilDay today =
      absl::ToCivilDay(absl::Now(), absl::FixedTimeZone(8 * 3600));
  DuesFileSummary summary;
  Errors errors(&summary);
  std::optional<std::array<int, kColumns>> at;
  DuesRow out;
  RETURN_IF_ERROR(
      ingest::ForEachRow(*reader, [&](const ingest::Row& row) -> absl::Status {
        if (row.IsBlank()) return absl::OkStatus();
        if (!at.has_value()) {
          ASSIGN_OR_RETURN(at, MapHeader(row));
          return absl::OkStatus();
        }
        ++summary.rows;
        const int64_t n = row.number();
        auto cell = [&](int c) -> const ingest::Cell& {
          static const ingest::Cell kEmpty;
          return (*at)[c] < 0 ? kEmpty : row.cell((*at)[c]);
        };
        auto text = [&](int c) {
          return std::string(absl::StripAsciiWhitespace(cell(c).text));
        };
        const int64_t before = summary.total_errors;
        out.row = n;
        out.id_number = NormalizeIdNumber(cell(kIdNumber).text);
        if (out.id_number.empty()) {
          errors.Add(n, kIdNumber, "", "身份证号码为必填项");
        } else if (auto reason = ingest::IdNumberReason(
                       out.id_number, today, nullptr,
                       RegionCheck::kConfirmedUnlisted)) {
          errors.Add(n, kIdNumber, MaskIdNumber(out.id_number), *reason);
        }
        out.period = ParseDuesPeriod(cell(kPeriod).text);
        if (out.period.empty()) {
          errors.Add(n, kPeriod, text(kPeriod),
                     "缴费月份应写作如 2020-03 或 202003（2000年至2099年）");
        }
        std::optional<int64_t> amount = ParseAmount(cell(kAmount));
        if (!amount.has_value() || *amount <= 0 || *amount > kMaxAmountFen) {
          errors.Add(
              n, kAmount, text(kAmount),
              "金额应为大于0、不超过100000的数字，最多两位小数，如 12.50");
        } else {
          out.amount_fen = *amount;
        }
        out.reference = text(kReference);
        if (out.reference.empty() ||
            out.reference.size() > kMaxReferenceBytes) {
          errors.Add(n, kReference, out.reference.substr(0, kMaxReferenceBytes),
                     "交易流水号为必填项，最长64个字符");
        }
        out.paid_on.clear();
        if (!text(kPaidOn).empty()) {
          std::optional<std::string> day = ParseDay(cell(kPaidOn));
          if (!day.has_value()) {
            errors.Add(n, kPaidOn, text(kPaidOn),
                       "缴费日期应写作如 2020-03-05");
          } else {
            out.paid_on = *day;
          }
        }
        if (summary.total_errors != before) return absl::OkStatus();
        ++summary.valid_rows;
        summary.amount_fen += out.amount_fen;
        summary.periods.insert(out.period);
        return on_valid(out);
      }));
  if (!at.has_value()) {
    return absl::InvalidArgumentError(
        "文件中没有表头，缴费文件第一行须为列名（身份证号码、缴费月份、"
        "金额（元）、交易流水号）");
  }
  if (summary.rows == 0) {
    return absl::InvalidArgumentError("文件中只有表头，没有缴费记录");
  }
  return summary;
}

}  // namespace unionsync::dues
