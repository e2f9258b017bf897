// The campaign files shipped in monitor/campaigns/, embedded at build time by
// cmake/embed_files.cmake. Private to monitor/ (campaign.cc).
#ifndef UNIONSYNC_MONITOR_CAMPAIGN_FILES_H_
#define UNIONSYNC_MONITOR_CAMPAIGN_FILES_H_

#include <cstddef>

namespace unionsync::campaign_files {

struct CampaignFile {
  const char* name;  // e.g. "changsha-2019-2020.textproto"; nullptr ends it.
  const unsigned char* bytes;
  size_t size;
};

extern const CampaignFile kCampaignFiles[];

}  // namespace unionsync::campaign_files

#endif  // UNIONSYNC_MONITOR_CAMPAIGN_FILES_H_
