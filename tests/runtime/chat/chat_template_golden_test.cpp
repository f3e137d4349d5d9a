// Compares tessera's rendering of real and test chat templates with HF transformers' output,
// recorded by tools/make_chat_golden.py in tests/data/chat/golden.json.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "runtime/chat/chat_template.hpp"
#include "runtime/core/error.hpp"

namespace {

using nlohmann::ordered_json;
using tessera::runtime::ChatTemplate;
namespace fs = std::filesystem;

const fs::path kData = fs::path(TESSERA_TEST_DATA_DIR) / "chat";
const fs::path kReference = TESSERA_REFERENCE_TOKENIZERS_DIR;

ordered_json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return ordered_json::parse(in);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// TESSERA_CHAT_GOLDEN points the test at another golden file (for development).
fs::path golden_path() {
  if (const char* p = std::getenv("TESSERA_CHAT_GOLDEN")) return p;
  return kData / "golden.json";
}

TEST(ChatTemplateGolden, MatchesTransformers) {
  fs::path path = golden_path();
  ASSERT_TRUE(fs::exists(path)) << path << " is missing. Generate it on the GPU machine with\n"
                                << "  tools/make_chat_golden.py --tokenizers <reference tokenizers dir> "
                                   "--conversations tests/data/chat/conversations.json "
                                   "--templates tests/data/chat/templates --out tests/data/chat/golden.json";
  ordered_json golden = read_json(path);
  std::map<std::string, ordered_json> conversations;
  for (const auto& c : read_json(kData / "conversations.json")) conversations[c["name"].get<std::string>()] = c;

  std::map<std::string, ChatTemplate> templates;
  for (const auto& [name, info] : golden["templates"].items()) {
    std::string bos = info["bos_token"], eos = info["eos_token"];
    if (info["source"] == "reference") {
      ChatTemplate t = ChatTemplate::from_model_dir(kReference / name);
      EXPECT_EQ(t.bos_token(), bos) << name;
      EXPECT_EQ(t.eos_token(), eos) << name;
      templates.emplace(name, std::move(t));
    } else {
      templates.emplace(name, ChatTemplate(read_text(kData / "templates" / (name + ".jinja")), bos, eos));
    }
  }

  int checked = 0;
  for (const auto& c : golden["cases"]) {
    std::string name = c["template"], conversation = c["conversation"];
    bool add_generation_prompt = c["add_generation_prompt"];
    SCOPED_TRACE(name + " / " + conversation +
                 " / add_generation_prompt=" + (add_generation_prompt ? "true" : "false"));
    ASSERT_TRUE(templates.count(name)) << "unknown template";
    ASSERT_TRUE(conversations.count(conversation)) << "unknown conversation";
    const ordered_json& conv = conversations[conversation];
    const ChatTemplate& t = templates.at(name);
    std::optional<std::string> rendered;
    std::string error;
    try {
      rendered = t.render(conv["messages"], add_generation_prompt, conv["extra"]);
    } catch (const tessera::Error& e) {
      EXPECT_EQ(e.category(), tessera::ErrorCategory::chat_template);
      error = e.what();
    }
    if (c.contains("rendered")) {
      ASSERT_TRUE(rendered) << "tessera failed: " << error;
      EXPECT_EQ(*rendered, c["rendered"].get<std::string>());
    } else {
      EXPECT_FALSE(rendered) << "HF raised " << c["error"] << " but tessera rendered:\n" << *rendered;
      // raise_exception messages come from the template, so they must match; other errors
      // are jinja2's own wording, which tessera does not copy.
      if (c.value("error_type", "") == "TemplateError") {
        EXPECT_NE(error.find(c["error"].get<std::string>()), std::string::npos) << error;
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
  std::cout << "checked " << checked << " golden cases from " << path << "\n";
}

}  // namespace
