// Chinese names of warning kinds, severities and conflict kinds and states,
// as union staff see them (CLI tables, dashboard, warning texts).
#ifndef UNIONSYNC_COMMON_LABELS_H_
#define UNIONSYNC_COMMON_LABELS_H_

#include "unionsync/v1/model.pb.h"

namespace unionsync {

const char* WarningKindName(v1::WarningKind kind);
const char* SeverityName(v1::Severity severity);
const char* ConflictKindName(v1::ConflictKind kind);
const char* ConflictStateName(v1::ConflictState state);

}  // namespace unionsync

#endif  // UNIONSYNC_COMMON_LABELS_H_
