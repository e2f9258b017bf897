#include "common/labels.h"

namespace unionsync {

const char* WarningKindName(v1::WarningKind kind) {
  switch (kind) {
    case v1::BEHIND_TARGET:
      return "进度落后";
    case v1::NO_NEW_ENTRIES:
      return "长期未录入";
    case v1::INITIAL_PASSWORD_UNCHANGED:
      return "初始密码未修改";
    case v1::NODE_NOT_SYNCED:
      return "节点未同步";
    case v1::DUPLICATE_DATA:
      return "重复数据";
    case v1::INVALID_RECORD:
      return "数据不合规";
    case v1::AUDIT_CHAIN_BROKEN:
      return "审计日志异常";
    case v1::ADMIN_NOT_TRAINED:
      return "信息管理员未培训";
    case v1::PROFILE_INCOMPLETE:
      return "组织资料不完整";
    default:
      return "其他";
  }
}

const char* SeverityName(v1::Severity severity) {
  switch (severity) {
    case v1::SEVERITY_NOTICE:
      return "提示";
    case v1::SEVERITY_WARNING:
      return "预警";
    case v1::SEVERITY_SERIOUS:
      return "严重";
    default:
      return "未定";
  }
}

const char* ConflictKindName(v1::ConflictKind kind) {
  switch (kind) {
    case v1::DUPLICATE_PERSON:
      return "同一人员多处在册";
    case v1::DUPLICATE_CREDIT_CODE:
      return "统一社会信用代码重复";
    case v1::ORPHANED_RECORDS:
      return "撤销组织遗留会员";
    case v1::TRANSFER_HALF_DONE:
      return "会员转移未完成";
    case v1::INVALID_DATA:
      return "数据不合规";
    default:
      return "其他";
  }
}

const char* ConflictStateName(v1::ConflictState state) {
  switch (state) {
    case v1::CONFLICT_OPEN:
      return "待处理";
    case v1::CONFLICT_RESOLVED:
      return "已处理";
    case v1::CONFLICT_CLEARED:
      return "已消除";
    default:
      return "-";
  }
}

}  // namespace unionsync
