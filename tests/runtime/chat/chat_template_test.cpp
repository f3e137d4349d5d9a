// ChatTemplate's loading from model folders, and the `tessera chat-template` command.
#include "runtime/chat/chat_template.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/core/error.hpp"
#include "tests/support/scratch_dir.hpp"

namespace {

using nlohmann::ordered_json;
using tessera::runtime::ChatTemplate;
namespace fs = std::filesystem;

const fs::path kReference = TESSERA_REFERENCE_TOKENIZERS_DIR;

// mkdtemp-unique, so several in one test never share a folder.
using TempDir = ::tessera::test::ScratchDir;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const ordered_json kConversation = ordered_json::parse(R"([
  {"role": "system", "content": "Be brief."},
  {"role": "user", "content": "Hi!"}
])");

TEST(ChatTemplateLoading, RealTemplatesFromModelFolders) {
  ChatTemplate llama = ChatTemplate::from_model_dir(kReference / "llama3_1");
  EXPECT_EQ(llama.bos_token(), "<|begin_of_text|>");
  EXPECT_EQ(llama.eos_token(), "<|eot_id|>");
  EXPECT_EQ(
      llama.render(kConversation, true, ordered_json::object()),
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");

  ChatTemplate qwen = ChatTemplate::from_model_dir(kReference / "qwen3");
  EXPECT_EQ(qwen.bos_token(), "");  // null in tokenizer_config.json
  EXPECT_EQ(qwen.render(kConversation, true, ordered_json{{"enable_thinking", false}}),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\n");

  ChatTemplate gemma = ChatTemplate::from_model_dir(kReference / "gemma3");
  EXPECT_EQ(gemma.render(kConversation, false, ordered_json::object()),
            "<bos><start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n");
  try {
    gemma.render(ordered_json::parse(R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])"), false,
                 ordered_json::object());
    ADD_FAILURE() << "gemma3 accepted two user turns in a row";
  } catch (const tessera::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Conversation roles must alternate"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplateLoading, MissingTemplateNamesTheFile) {
  try {
    ChatTemplate::from_model_dir(kReference / "llama2");
    ADD_FAILURE() << "llama2 has no chat template";
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.category(), tessera::ErrorCategory::chat_template);
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
  }
  TempDir empty;
  EXPECT_THROW(ChatTemplate::from_model_dir(empty.path()), tessera::Error);  // no tokenizer_config.json at all
  TempDir broken;
  broken.write("tokenizer_config.json", "{ not json");
  try {
    ChatTemplate::from_model_dir(broken.path());
    ADD_FAILURE() << "invalid JSON accepted";
  } catch (const tessera::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplateLoading, TemplateListAndTokenObjects) {
  TempDir dir;
  dir.write("tokenizer_config.json", R"({
    "bos_token": {"content": "<B>", "lstrip": false},
    "eos_token": "<E>",
    "chat_template": [
      {"name": "tool_use", "template": "tools"},
      {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}
    ]})");
  ChatTemplate t = ChatTemplate::from_model_dir(dir.path());
  EXPECT_EQ(t.render(ordered_json::parse(R"([{"role": "user", "content": "x"}])"), false, ordered_json::object()),
            "<B>x<E>");

  TempDir no_default;
  no_default.write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "t"}]})");
  EXPECT_THROW(ChatTemplate::from_model_dir(no_default.path()), tessera::Error);
  // A name of the wrong type is a file error like any other, not nlohmann's type_error.
  TempDir numeric_name;
  numeric_name.write("tokenizer_config.json", R"({"chat_template": [{"name": 5, "template": "t"}]})");
  EXPECT_THROW(ChatTemplate::from_model_dir(numeric_name.path()), tessera::Error);

  // Newer checkpoints keep the template in chat_template.jinja beside the config.
  TempDir separate;
  separate.write("tokenizer_config.json", R"({"eos_token": "<E>"})");
  separate.write("chat_template.jinja", "{% for m in messages %}{{ m.role }}{% endfor %}{{ eos_token }}");
  EXPECT_EQ(ChatTemplate::from_model_dir(separate.path())
                .render(ordered_json::parse(R"([{"role": "user", "content": "x"}])"), false, ordered_json::object()),
            "user<E>");
}

TEST(ChatTemplateLoading, SyntaxErrorInConfigTemplate) {
  TempDir dir;
  dir.write("tokenizer_config.json", R"({"chat_template": "line 1\n{% if %}"})");
  try {
    ChatTemplate::from_model_dir(dir.path());
    ADD_FAILURE() << "bad template accepted";
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.category(), tessera::ErrorCategory::chat_template);
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplateCommand, PrintsPromptAsJsonString) {
  TempDir dir;
  dir.write("messages.json", kConversation.dump());
  fs::path out = dir.path() / "out.txt";
  std::string cmd = std::string(TESSERA_BINARY) + " chat-template --model " + (kReference / "llama3_1").string() +
                    " --messages " + (dir.path() / "messages.json").string() + " --add-generation-prompt > " +
                    out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::string expected =
      ChatTemplate::from_model_dir(kReference / "llama3_1").render(kConversation, true, ordered_json::object());
  EXPECT_EQ(read_text(out), ordered_json(expected).dump() + "\n");
}

TEST(ChatTemplateCommand, BadMessagesFileIsNamed) {
  TempDir dir;
  dir.write("bad.json", "[{\"role\": ");
  fs::path err = dir.path() / "err.txt";
  std::string base =
      std::string(TESSERA_BINARY) + " chat-template --model " + (kReference / "llama3_1").string() + " --messages ";
  for (const std::string& file : {(dir.path() / "bad.json").string(), (dir.path() / "missing.json").string()}) {
    std::string cmd = base + file + " > /dev/null 2> " + err.string();
    EXPECT_NE(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_NE(read_text(err).find(file), std::string::npos) << read_text(err);
  }
}

}  // namespace
