#include "runtime/model/model_config_rope.hpp"

#include <sstream>
#include <string>
#include <utility>

namespace tessera::runtime {

namespace {

RopeConfig parse_scaling(const ConfigObject& obj, std::string_view type_key, const std::string& type,
                         double theta) {
  RopeConfig rope;
  rope.theta = theta;
  if (type == "default") return rope;

  auto positive = [&obj](std::string_view key) {
    const double v = obj.req_number(key);
    if (!(v > 0)) obj.fail(key, "expected a positive number, found " + std::to_string(v));
    return v;
  };
  if (type == "linear") {
    rope.kind = RopeConfig::Kind::linear;
    rope.factor = positive("factor");
    return rope;
  }
  if (type == "llama3") {
    rope.kind = RopeConfig::Kind::llama3;
    rope.factor = positive("factor");
    rope.low_freq_factor = positive("low_freq_factor");
    rope.high_freq_factor = positive("high_freq_factor");
    rope.original_max_position_embeddings = obj.req_positive_int("original_max_position_embeddings");
    // The llama3 ramp divides by (high - low); equal or inverted factors have no meaning.
    if (!(rope.high_freq_factor > rope.low_freq_factor)) {
      obj.fail("high_freq_factor", "expected more than low_freq_factor (" +
                                       std::to_string(rope.low_freq_factor) + "), found " +
                                       std::to_string(rope.high_freq_factor));
    }
    return rope;
  }
  obj.fail(type_key, "rope type '" + type + "' is not supported (supported: default, linear, llama3)",
           ErrorCategory::unsupported);
}

// v4 wrote the type as `type`, later versions as `rope_type`; HF accepts both.
std::pair<std::string, std::string> rope_type_of(const ConfigObject& obj) {
  if (auto t = obj.opt_string("rope_type")) return {"rope_type", *t};
  if (auto t = obj.opt_string("type")) return {"type", *t};
  return {"", ""};
}

}  // namespace

RopeConfig parse_rope_parameters(const ConfigObject& params, double default_theta) {
  const auto [type_key, type] = rope_type_of(params);
  const double theta = params.opt_number("rope_theta").value_or(default_theta);
  if (!(theta > 0)) params.fail("rope_theta", "expected a positive number, found " + std::to_string(theta));
  return parse_scaling(params, type_key.empty() ? "rope_type" : type_key,
                       type.empty() ? "default" : type, theta);
}

double parse_rope_theta(const ConfigObject& root) {
  const double theta = root.opt_number("rope_theta").value_or(10000.0);
  if (!(theta > 0)) root.fail("rope_theta", "expected a positive number, found " + std::to_string(theta));
  return theta;
}

RopeConfig parse_rope_config(const ConfigObject& root) {
  const double root_theta = parse_rope_theta(root);

  if (const auto params = root.opt_object("rope_parameters")) {
    // v5 keys rope_parameters by layer type (e.g. {"full_attention": {...}}) for models whose
    // layers rotate differently; those architectures read them with parse_rope_parameters.
    for (const auto& [key, value] : params->raw().items()) {
      if (value.is_object()) {
        params->fail(key, "per-layer-type rope_parameters are not supported", ErrorCategory::unsupported);
      }
    }
    return parse_rope_parameters(*params, root_theta);
  }

  const auto scaling = root.opt_object("rope_scaling");
  if (!scaling) {
    RopeConfig rope;
    rope.theta = root_theta;
    return rope;
  }
  const auto [type_key, type] = rope_type_of(*scaling);
  if (type_key.empty()) scaling->fail("rope_type", "required string is missing (or give 'type')");
  return parse_scaling(*scaling, type_key, type, root_theta);
}

std::string canonical_text(const RopeConfig& r) {
  std::ostringstream out;
  out.precision(17);
  out << static_cast<int>(r.kind) << ' ' << r.theta << ' ' << r.factor << ' ' << r.low_freq_factor
      << ' ' << r.high_freq_factor << ' ' << r.original_max_position_embeddings;
  return out.str();
}

}  // namespace tessera::runtime
