#include "ingest/template.h"

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace unionsync::ingest {
namespace {

constexpr absl::string_view kGender[] = {"男", "女"};
// Order of v1::Education from 1.
constexpr absl::string_view kEducation[] = {
    "小学", "初中",       "高中/中专/技校", "大专",
    "本科", "硕士研究生", "博士研究生"};
constexpr absl::string_view kYesNo[] = {"是", "否"};
// Order of v1::DuesStatus from 1.
constexpr absl::string_view kDues[] = {"已缴纳", "未缴纳", "免缴"};
// Byte-identical to model.proto and common/org_rules.cc (a test checks that
// ParseOrgKind accepts every one), in the order of v1::OrgKind from 2.
constexpr absl::string_view kChildKinds[] = {
    "开发区总工会",           "区（县）市总工会",
    "市产业（系统）工会",     "市总直属基层工会",
    "乡镇（街道）工会联合会", "县（区）属省级以上开发区（产业园区）工会联合会",
    "基层联合工会",           "基层法人独立工会",
    "村（社区）联合工会",
};
constexpr absl::string_view kEthnicities[] = {
    "汉族",       "蒙古族",   "回族",     "藏族",     "维吾尔族",   "苗族",
    "彝族",       "壮族",     "布依族",   "朝鲜族",   "满族",       "侗族",
    "瑶族",       "白族",     "土家族",   "哈尼族",   "哈萨克族",   "傣族",
    "黎族",       "傈僳族",   "佤族",     "畲族",     "高山族",     "拉祜族",
    "水族",       "东乡族",   "纳西族",   "景颇族",   "柯尔克孜族", "土族",
    "达斡尔族",   "仫佬族",   "羌族",     "布朗族",   "撒拉族",     "毛南族",
    "仡佬族",     "锡伯族",   "阿昌族",   "普米族",   "塔吉克族",   "怒族",
    "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族",   "保安族",     "裕固族",
    "京族",       "塔塔尔族", "独龙族",   "鄂伦春族", "赫哲族",     "门巴族",
    "珞巴族",     "基诺族",
};

constexpr absl::Span<const absl::string_view> kNone;

const ColumnSpec kMemberColumns[] = {
    {Field::kName, "姓名", "会员本人姓名，与居民身份证一致，最多50个字。", true,
     ValueKind::kText, kNone, 12, false},
    {Field::kGender, "性别",
     "填写“男”或“女”，须与公民身份号码第17位一致（奇数为男，偶数为女）。", true,
     ValueKind::kCode, kGender, 8, false},
    {Field::kEthnicity, "民族",
     "如“汉族”“土家族”，最多20个字；可从下拉列表选择。", false,
     ValueKind::kText, kEthnicities, 10, false},
    {Field::kIdNumber, "公民身份号码",
     "18位居民身份证号码，最后一位可以是X。本列已设为文本格式，请不要改成数字格"
     "式"
     "（数字格式会丢失后几位）。",
     true, ValueKind::kIdNumber, kNone, 22, true},
    {Field::kPhone, "手机号码",
     "11位手机号码，不加空格、横线或+86；没有可不填。", false,
     ValueKind::kMobile, kNone, 15, true},
    {Field::kEducation, "学历", "从下拉列表选择最高学历；不清楚可不填。", false,
     ValueKind::kCode, kEducation, 16, false},
    {Field::kWorkplace, "工作单位", "实际工作单位全称，最多100个字。", false,
     ValueKind::kText, kNone, 30, false},
    {Field::kJoinDate, "入会时间",
     "加入工会的日期，写作 2019-06-01（也可写 2019/6/1 或 2019年6月1日）；"
     "不清楚可不填。",
     false, ValueKind::kDate, kNone, 13, true},
    {Field::kCardNumber, "会员证号",
     "会员证上的编号：字母、数字和“-”，最多32个字符；"
     "没有可不填。",
     false, ValueKind::kCodeText, kNone, 18, true},
    {Field::kMigrantWorker, "是否农民工", "填写“是”或“否”。", true,
     ValueKind::kCode, kYesNo, 11, false},
    {Field::kDuesStatus, "会费缴纳状态",
     "从下拉列表选择“已缴纳”“未缴纳”或“免缴”；不清楚可不填。", false,
     ValueKind::kCode, kDues, 13, false},
};

const ColumnSpec kOrgColumns[] = {
    {Field::kOrgId, "组织编号",
     "全市唯一的组织编号，由上级工会编定：小写字母、数字、“.”和“-"
     "”，最多64个字符，"
     "如 430102.1.3。",
     true, ValueKind::kCodeText, kNone, 18, true},
    {Field::kOrgName, "组织名称", "工会组织的全称，2至100个字。", true,
     ValueKind::kText, kNone, 36, false},
    {Field::kOrgKind, "组织类别", "从下拉列表选择组织类别。", true,
     ValueKind::kCode, kChildKinds, 30, false},
    {Field::kParentId, "上级组织编号", "直接上级工会的组织编号。", true,
     ValueKind::kCodeText, kNone, 16, true},
    {Field::kRegion, "所属区域",
     "所在区（县）、市或开发区的6位行政区划代码，如 430102；不填则与上级相同。"
     "开发区总工会和区（县）市总工会必填。",
     false, ValueKind::kCodeText, kNone, 12, true},
    {Field::kSystem, "所属系统",
     "所属产业系统的代码（小写字母、数字和下划线），如 "
     "education；不填则与上级相同。"
     "市产业（系统）工会必填。",
     false, ValueKind::kCodeText, kNone, 16, true},
    {Field::kHostNode, "托管节点",
     "保存本组织数据的节点编号；不填则由上级工会的节点托管。", false,
     ValueKind::kCodeText, kNone, 14, true},
    {Field::kCreditCode, "统一社会信用代码",
     "18位统一社会信用代码（不含字母I、O、S、V、Z），由本组织填写。", false,
     ValueKind::kCodeText, kNone, 22, true},
    {Field::kChairName, "工会主席", "工会主席姓名。", false, ValueKind::kText,
     kNone, 12, false},
    {Field::kChairPhone, "工会主席手机号码", "11位手机号码。", false,
     ValueKind::kMobile, kNone, 17, true},
    {Field::kAdminName, "信息管理员",
     "经上级工会培训、负责本单位数据的信息管理员姓名。", false,
     ValueKind::kText, kNone, 12, false},
    {Field::kAdminPhone, "信息管理员手机号码", "11位手机号码。", false,
     ValueKind::kMobile, kNone, 19, true},
    {Field::kAdminTrainedDate, "信息管理员培训日期",
     "上级工会培训信息管理员的日期，写作 2019-06-01。", false, ValueKind::kDate,
     kNone, 19, true},
    {Field::kContactName, "联系人", "联系人姓名。", false, ValueKind::kText,
     kNone, 12, false},
    {Field::kContactPhone, "联系人手机号码", "11位手机号码。", false,
     ValueKind::kMobile, kNone, 16, true},
    {Field::kEmployeeCount, "职工人数", "本单位职工人数，0至10000000的整数。",
     false, ValueKind::kInteger, kNone, 10, false},
    {Field::kFoundingDate, "成立日期", "工会成立日期，写作 2019-06-01。", false,
     ValueKind::kDate, kNone, 13, true},
    {Field::kAddress, "地址", "办公地址，最多200个字。", false,
     ValueKind::kText, kNone, 36, false},
};

constexpr TemplateSpec kMemberSpec = {TemplateKind::kMember,
                                      "工会会员信息采集表", "会员信息",
                                      "会员信息采集模板", kMemberColumns};
constexpr TemplateSpec kOrgSpec = {TemplateKind::kOrg, "工会组织信息采集表",
                                   "组织信息", "组织信息采集模板", kOrgColumns};

}  // namespace

const TemplateSpec& MemberTemplate() { return kMemberSpec; }
const TemplateSpec& OrgTemplate() { return kOrgSpec; }
const TemplateSpec& Template(TemplateKind kind) {
  return kind == TemplateKind::kMember ? kMemberSpec : kOrgSpec;
}

int ColumnIndex(const TemplateSpec& spec, Field field) {
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    if (spec.columns[i].field == field) return static_cast<int>(i);
  }
  return -1;
}

absl::Span<const absl::string_view> GenderValues() { return kGender; }
absl::Span<const absl::string_view> EducationValues() { return kEducation; }
absl::Span<const absl::string_view> YesNoValues() { return kYesNo; }
absl::Span<const absl::string_view> DuesValues() { return kDues; }
absl::Span<const absl::string_view> ChildOrgKindValues() { return kChildKinds; }
absl::Span<const absl::string_view> EthnicityValues() { return kEthnicities; }

}  // namespace unionsync::ingest
