// `pocket quantize` end to end against llama.cpp:
//  - `--pure` on the F32 llama-gqa.gguf reproduces llama-quantize --pure's files in ../shared/reference/models
//    tensor for tensor, byte for byte (names, order, types, shapes, data), with the same metadata;
//  - every mixture recipe (Q4_K_M, Q3_K_L, ...) gives each tensor the type and bytes that
//    ../shared/peers/llama.cpp/llama-quantize gives it (run here; skipped if that binary cannot run);
//  - pocket-written Q8_0 and Q4_K_M files load and generate in llama-completion, identically to llama.cpp's files.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "test_support.h"

namespace pocket {
namespace {

namespace fs = std::filesystem;

fs::path reference_model(const std::string& name) {
  return fs::path(testing::shared_dir()) / "reference" / "models" / (name + ".gguf");
}
fs::path peer(const std::string& tool) { return fs::path(testing::shared_dir()) / "peers" / "llama.cpp" / tool; }

bool same_value(const GgufValue& a, const GgufValue& b) {
  return a.type == b.type && a.elem_type == b.elem_type && a.u == b.u && a.i == b.i && a.f == b.f && a.b == b.b &&
         a.s == b.s && a.strs == b.strs && a.ints == b.ints && a.floats == b.floats;
}

// Same tensors (order, names, types, shapes, bytes) and the same metadata values for every key of `expected`.
void expect_same_model(const std::string& ours_path, const std::string& theirs_path) {
  auto ours = GgufFile::open(ours_path);
  ASSERT_TRUE(ours.ok()) << ours.status().message();
  auto theirs = GgufFile::open(theirs_path);
  ASSERT_TRUE(theirs.ok()) << theirs.status().message();
  ASSERT_EQ(ours->tensors().size(), theirs->tensors().size());
  int identical = 0;
  for (size_t i = 0; i < theirs->tensors().size(); ++i) {
    const GgufTensorInfo& t = theirs->tensors()[i];
    const GgufTensorInfo& o = ours->tensors()[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(o.name, t.name) << "tensor order";
    EXPECT_STREQ(o.dtype->name, t.dtype->name);
    EXPECT_EQ(o.shape, t.shape);
    const auto a = ours->tensor_bytes(o);
    const auto b = theirs->tensor_bytes(t);
    const bool same = a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
    EXPECT_TRUE(same) << "tensor bytes differ";
    identical += same;
  }
  EXPECT_EQ(identical, static_cast<int>(theirs->tensors().size()));
  for (const GgufKv& kv : theirs->metadata()) {
    const GgufValue* v = ours->find(kv.key);
    ASSERT_NE(v, nullptr) << "metadata key " << kv.key << " missing";
    EXPECT_TRUE(same_value(*v, kv.value)) << "metadata key " << kv.key;
  }
  EXPECT_EQ(ours->metadata().size(), theirs->metadata().size());
  // The same order too (llama-quantize moves general.quantization_version and general.file_type to the end).
  for (size_t i = 0; i < std::min(ours->metadata().size(), theirs->metadata().size()); ++i) {
    EXPECT_EQ(ours->metadata()[i].key, theirs->metadata()[i].key) << "metadata key " << i;
  }
}

class QuantizeDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pocket-quantize-golden-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `pocket quantize` on the F32 llama-gqa.gguf; returns the output path.
  std::string pocket_quantize(const std::string& type, const std::string& extra = "") {
    const std::string out = (dir_ / ("pocket-" + type + ".gguf")).string();
    auto r = testing::run_command(testing::pocket_bin() + " quantize " + reference_model("llama-gqa").string() +
                                  " " + out + " " + type + " " + extra + " --threads 2");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  // Runs llama-quantize the same way; empty if that binary cannot run here.
  std::string llama_quantize(const std::string& type) {
    const std::string out = (dir_ / ("llama-" + type + ".gguf")).string();
    auto r = testing::run_command(peer("llama-quantize").string() + " " + reference_model("llama-gqa").string() +
                                  " " + out + " " + type + " 2");
    if (r.exit_code != 0 || !fs::exists(out)) return "";
    return out;
  }

  fs::path dir_;
};

// llama-gqa-<TYPE>.gguf was made with the ftype named in its general.file_type.
struct PureCase {
  const char* file;   // reference file suffix
  const char* ftype;  // what to ask pocket for
};

TEST_F(QuantizeDriver, PureReproducesLlamaQuantizeFiles) {
  const PureCase cases[] = {{"Q8_0", "Q8_0"},     {"Q4_0", "Q4_0"},     {"Q4_1", "Q4_1"},   {"Q5_0", "Q5_0"},
                            {"Q5_1", "Q5_1"},     {"F16", "F16"},       {"BF16", "BF16"},   {"Q2_K", "Q2_K"},
                            {"Q3_K", "Q3_K_S"},   {"Q4_K", "Q4_K_S"},   {"Q5_K", "Q5_K_S"}, {"Q6_K", "Q6_K"},
                            {"IQ4_NL", "IQ4_NL"}};
  for (const PureCase& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string out = pocket_quantize(c.ftype, "--pure");
    expect_same_model(out, reference_model(std::string("llama-gqa-") + c.file).string());
  }
}

TEST_F(QuantizeDriver, MixturesMatchLlamaQuantize) {
  if (llama_quantize("Q8_0").empty()) GTEST_SKIP() << peer("llama-quantize") << " cannot run on this machine";
  for (const char* type : {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S",
                           "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS", "F16", "BF16"}) {
    SCOPED_TRACE(type);
    const std::string theirs = llama_quantize(type);
    ASSERT_FALSE(theirs.empty()) << "llama-quantize failed for " << type;
    expect_same_model(pocket_quantize(type), theirs);
  }
}

TEST_F(QuantizeDriver, OverridesApply) {
  const std::string out = pocket_quantize("Q4_K_M", "--tensor-type 'attn_(q|k)=Q8_0' --tensor-type ffn_up=iq4_nl");
  auto file = GgufFile::open(out);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_STREQ(file->find_tensor("blk.0.attn_q.weight")->dtype->name, "Q8_0");
  EXPECT_STREQ(file->find_tensor("blk.1.attn_k.weight")->dtype->name, "Q8_0");
  EXPECT_STREQ(file->find_tensor("blk.1.ffn_up.weight")->dtype->name, "IQ4_NL");
  EXPECT_STREQ(file->find_tensor("blk.1.ffn_down.weight")->dtype->name, "Q6_K");
  EXPECT_STREQ(file->find_tensor("blk.0.attn_norm.weight")->dtype->name, "F32");
  EXPECT_EQ(file->get_int("general.file_type"), 15);
  EXPECT_EQ(file->get_int("general.quantization_version"), 2);
}

// llama-completion writes text and log through an asynchronous logger that can lose the tail of stdout/stderr at
// exit on a loaded machine. So: texts are compared as prefixes of each other, that 8 tokens were generated is read
// from its statistics (1 token from the prompt's logits + 7 decode runs), and a run that lost its statistics is
// retried (up to 3 runs; the longest text is kept).
bool generated_8_tokens(const testing::CommandResult& r) {
  return r.exit_code == 0 && std::regex_search(r.err, std::regex(R"(eval time = .* / +7 runs)"));
}
bool consistent(const std::string& a, const std::string& b) {
  const std::string& shorter = a.size() < b.size() ? a : b;
  const std::string& longer = a.size() < b.size() ? b : a;
  return shorter.size() > std::string(" Once upon a time").size() && longer.compare(0, shorter.size(), shorter) == 0;
}

// Greedy generation of 8 tokens by llama-completion (stdout: the prompt and the generated text; stderr: its log).
testing::CommandResult complete(const std::string& model) {
  testing::CommandResult best;  // longest stdout; stderr of a run whose statistics survived
  best.exit_code = 0;
  const size_t prompt_size = std::string(" Once upon a time").size();
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto r = testing::run_command(peer("llama-completion").string() + " -m " + model +
                                  " -p 'Once upon a time' -n 8 --temp 0 -no-cnv -t 2");
    if (r.exit_code != 0) return r;
    if (r.out.size() > best.out.size()) best.out = r.out;
    if (!generated_8_tokens(best)) best.err = r.err;
    if (generated_8_tokens(best) && best.out.size() > prompt_size + 4) break;
  }
  return best;
}

TEST_F(QuantizeDriver, PocketFilesLoadAndGenerateInLlamaCompletion) {
  auto probe = complete(reference_model("llama-gqa-Q8_0").string());
  if (probe.exit_code != 0 || probe.out.empty()) {
    GTEST_SKIP() << peer("llama-completion") << " cannot run on this machine (exit " << probe.exit_code << ")";
  }
  ASSERT_EQ(probe.out.rfind(" Once upon a time", 0), 0u) << probe.out;

  // Q8_0: the same tensors as llama.cpp's own file, so the same greedy text.
  auto q8 = complete(pocket_quantize("Q8_0"));
  EXPECT_TRUE(generated_8_tokens(q8)) << q8.err;
  EXPECT_EQ(q8.out.rfind(" Once upon a time", 0), 0u) << q8.out;
  EXPECT_TRUE(consistent(q8.out, probe.out)) << "pocket's Q8_0: '" << q8.out << "', llama.cpp's: '" << probe.out << "'";

  // Q4_K_M: generates, and as llama-quantize's own Q4_K_M file does.
  auto q4 = complete(pocket_quantize("Q4_K_M"));
  EXPECT_TRUE(generated_8_tokens(q4)) << q4.err;
  EXPECT_EQ(q4.out.rfind(" Once upon a time", 0), 0u) << q4.out;
  const std::string theirs = llama_quantize("Q4_K_M");
  if (!theirs.empty()) {
    const auto ref = complete(theirs);
    EXPECT_TRUE(consistent(q4.out, ref.out)) << "pocket's Q4_K_M: '" << q4.out << "', llama.cpp's: '" << ref.out << "'";
  }
}

}  // namespace
}  // namespace pocket
