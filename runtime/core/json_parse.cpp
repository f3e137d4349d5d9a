#include "runtime/core/json_parse.hpp"

namespace tessera {
namespace {

template <class Json>
Json parse_bounded(std::string_view text, const std::string& what, ErrorCategory category,
                   int max_depth) {
  const auto nesting_limit = [&](int depth, typename Json::parse_event_t, Json&) {
    if (depth >= max_depth) {  // depth counts from 0 at the outermost value
      throw Error(category, what + ": JSON nests deeper than " + std::to_string(max_depth) +
                                " levels");
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), nesting_limit);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
    throw Error(category, what + " is not valid JSON: " + e.what());
  }
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& what, ErrorCategory category,
                          int max_depth) {
  return parse_bounded<nlohmann::json>(text, what, category, max_depth);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what,
                                          ErrorCategory category, int max_depth) {
  return parse_bounded<nlohmann::ordered_json>(text, what, category, max_depth);
}

}  // namespace tessera
