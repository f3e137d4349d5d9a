// Single-threaded encode throughput of tessera's tokenizer.
//   tokenizer_encode --model DIR --corpus FILE [--repeat N] [--min-bytes B]
// FILE is a JSON array of strings (joined by newlines and repeated until at least B bytes) or
// any text file. The text is cut at newlines into documents of about 64 KiB, and each document
// is encoded without special tokens, exactly as bench/tokenizer_hf.js does with HF tokenizers.
// Prints {"tokenizer", "bytes", "runs", "median_mb_per_s", "tokens", ...} as JSON.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/tokenizer/tokenizer.hpp"

namespace {

constexpr std::size_t document_bytes = 64 * 1024;

std::string load_text(const std::string& path, std::size_t min_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tessera::Error(tessera::ErrorCategory::io, path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string raw = buffer.str();
  std::string unit = raw;
  if (!raw.empty() && raw.front() == '[') {
    const auto j = nlohmann::json::parse(raw);
    unit.clear();
    for (const auto& s : j) {
      unit += s.get<std::string>();
      unit += '\n';
    }
  }
  if (unit.empty()) throw tessera::Error(tessera::ErrorCategory::invalid_argument, "empty corpus");
  std::string text;
  while (text.size() < min_bytes) text += unit;
  return text;
}

std::vector<std::string> split_documents(const std::string& text) {
  std::vector<std::string> docs;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(text.size(), start + document_bytes);
    const auto newline = text.find('\n', end);
    end = newline == std::string::npos ? text.size() : newline + 1;
    docs.push_back(text.substr(start, end - start));
    start = end;
  }
  return docs;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  std::string corpus;
  int repeat = 7;
  std::size_t min_bytes = 8u << 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--model") model = argv[i + 1];
    else if (flag == "--corpus") corpus = argv[i + 1];
    else if (flag == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--min-bytes") min_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (model.empty() || corpus.empty()) {
    std::fprintf(stderr, "usage: tokenizer_encode --model DIR --corpus FILE [--repeat N] "
                         "[--min-bytes B]\n");
    return 2;
  }
  try {
    const auto tokenizer = tessera::runtime::Tokenizer::load(model);
    const auto docs = split_documents(load_text(corpus, min_bytes));
    std::size_t bytes = 0;
    for (const auto& d : docs) bytes += d.size();

    auto run_once = [&] {
      std::size_t tokens = 0;
      for (const auto& d : docs) tokens += tokenizer.encode(d, false).size();
      return tokens;
    };
    std::size_t tokens = run_once();  // warm-up: fills the word cache, as HF's is filled too
    std::vector<double> rates;
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      tokens = run_once();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rates.push_back(static_cast<double>(bytes) / 1e6 / seconds);
    }
    std::sort(rates.begin(), rates.end());
    nlohmann::json out = {
        {"implementation", "tessera"},
        {"tokenizer", std::filesystem::path(model).filename().string()},
        {"bytes", bytes},
        {"documents", docs.size()},
        {"runs", repeat},
        {"median_mb_per_s", rates[rates.size() / 2]},
        {"min_mb_per_s", rates.front()},
        {"max_mb_per_s", rates.back()},
        {"tokens", tokens},
    };
    std::cout << out.dump() << '\n';
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenizer_encode: %s\n", e.what());
    return 1;
  }
  return 0;
}
