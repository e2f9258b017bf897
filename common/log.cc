#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace unionsync {
namespace {

// `s` inside a JSON string (without the quotes).
void AppendJsonEscaped(absl::string_view s, spdlog::memory_buf_t& dest) {
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20) {
          const std::string u = absl::StrFormat("\\u%04x", c);
          dest.append(std::string_view(u));
        } else {
          dest.push_back(static_cast<char>(c));
        }
    }
  }
}

// %* : the message, JSON-escaped.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    AppendJsonEscaped(absl::string_view(msg.payload.data(), msg.payload.size()),
                      dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

// %& : the logger's name (the component), JSON-escaped.
class JsonName final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    AppendJsonEscaped(
        absl::string_view(msg.logger_name.data(), msg.logger_name.size()),
        dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonName>();
  }
};

// One logger per component, all on the sink InitLogging made.
class Registry {
 public:
  std::shared_ptr<spdlog::logger> Get(absl::string_view component) {
    absl::MutexLock lock(&mu_);
    auto it = loggers_.find(component);
    if (it != loggers_.end()) return it->second;
    auto logger = std::make_shared<spdlog::logger>(std::string(component),
                                                   sink_);
    logger->set_level(level_);
    loggers_.emplace(std::string(component), logger);
    return logger;
  }

  void Reset(spdlog::sink_ptr sink, spdlog::level::level_enum level) {
    absl::MutexLock lock(&mu_);
    sink_ = std::move(sink);
    level_ = level;
    loggers_.clear();
  }

 private:
  absl::Mutex mu_;
  spdlog::sink_ptr sink_ ABSL_GUARDED_BY(mu_) =
      std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::level::level_enum level_ ABSL_GUARDED_BY(mu_) = spdlog::level::info;
  absl::flat_hash_map<std::string, std::shared_ptr<spdlog::logger>> loggers_
      ABSL_GUARDED_BY(mu_);
};

Registry& Loggers() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace

absl::Status InitLogging(const LogOptions& options) {
  spdlog::level::level_enum level;
  if (options.level == "debug") {
    level = spdlog::level::debug;
  } else if (options.level == "info") {
    level = spdlog::level::info;
  } else if (options.level == "warning") {
    level = spdlog::level::warn;
  } else if (options.level == "error") {
    level = spdlog::level::err;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_level: '", options.level,
                     "' is not debug, info, warning or error"));
  }
  if (options.format != "text" && options.format != "json") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_format: '", options.format, "' is not text or json"));
  }
  spdlog::sink_ptr sink;
  if (options.stream != nullptr) {
    sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*options.stream,
                                                            /*flush=*/true);
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  // The node id is a certificate's organisation id: [0-9A-Za-z.-] only, so
  // it needs no escaping, and no spdlog flag character is in it but '%'.
  std::string node;
  for (char c : options.node_id) {
    if (c != '%' && c != '"' && c != '\\') node.push_back(c);
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(
      spdlog::pattern_time_type::utc);
  if (options.format == "json") {
    formatter->add_flag<JsonMessage>('*').add_flag<JsonName>('&').set_pattern(
        absl::StrCat("{\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\","
                     "\"node\":\"",
                     node, "\",\"component\":\"%&\",\"msg\":\"%*\"}"));
  } else {
    formatter->set_pattern(
        absl::StrCat("%Y-%m-%dT%H:%M:%S.%eZ %l ", node, " %n: %v"));
  }
  sink->set_formatter(std::move(formatter));
  Loggers().Reset(std::move(sink), level);
  return absl::OkStatus();
}

void LogDebug(absl::string_view component, absl::string_view message) {
  Loggers().Get(component)->debug(std::string_view(message.data(), message.size()));
}
void LogInfo(absl::string_view component, absl::string_view message) {
  Loggers().Get(component)->info(std::string_view(message.data(), message.size()));
}
void LogWarning(absl::string_view component, absl::string_view message) {
  Loggers().Get(component)->warn(std::string_view(message.data(), message.size()));
}
void LogError(absl::string_view component, absl::string_view message) {
  Loggers().Get(component)->error(std::string_view(message.data(), message.size()));
}

}  // namespace unionsync
