// For every quantized model under ../shared/reference/dequant/: dequantizing every tensor with the type table's
// reference dequantizer must reproduce llama.cpp's float32 values bit for bit (sha256 of the little-endian f32
// bytes, ne0 fastest, as ggml's to_float writes them), and blk.0.attn_q.weight must equal the stored .f32 dump.
#include <bit>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "format/gguf.h"
#include "sha256.h"
#include "tensor/dtype.h"
#include "test_support.h"

namespace pocket {
namespace {

static_assert(std::endian::native == std::endian::little, "hashes are of little-endian f32 bytes");

namespace fs = std::filesystem;

fs::path dequant_dir() { return fs::path(testing::shared_dir()) / "reference" / "dequant"; }

std::vector<std::string> reference_models() {
  std::vector<std::string> models;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dequant_dir(), ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "index.json")) models.push_back(entry.path().filename());
  }
  std::sort(models.begin(), models.end());
  return models;
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(testing::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(testing::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(testing::sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One million 'a', fed in uneven pieces to exercise buffering.
  const std::string million(1000000, 'a');
  testing::Sha256 hasher;
  size_t done = 0;
  for (size_t piece = 1; done < million.size(); piece = piece * 3 + 1) {
    const size_t take = std::min(piece, million.size() - done);
    hasher.update(million.data() + done, take);
    done += take;
  }
  const auto digest = hasher.finish();
  std::string hex;
  for (uint8_t b : digest) hex += fmt::format("{:02x}", b);
  EXPECT_EQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(DequantGolden, AllReferenceModelsPresent) {
  // README: 13 quantized copies of llama-gqa.
  EXPECT_EQ(reference_models().size(), 13u) << "reference dequant dirs under " << dequant_dir();
}

class DequantGoldenTest : public ::testing::TestWithParam<std::string> {};

// Compares our values with the stored .f32 dump; reports the first differences.
void compare_with_dump(const std::string& name, const std::vector<float>& ours, const fs::path& dump_path) {
  const std::string dump = testing::read_file(dump_path.string());
  ASSERT_EQ(dump.size(), ours.size() * sizeof(float)) << dump_path;
  if (std::memcmp(dump.data(), ours.data(), dump.size()) == 0) return;
  size_t mismatches = 0;
  std::string first;
  for (size_t i = 0; i < ours.size(); ++i) {
    float ref;
    std::memcpy(&ref, dump.data() + i * sizeof(float), sizeof(float));
    if (std::bit_cast<uint32_t>(ref) != std::bit_cast<uint32_t>(ours[i])) {
      if (mismatches++ < 5) first += fmt::format(" [{}] ours {:.9g} ref {:.9g};", i, ours[i], ref);
    }
  }
  ADD_FAILURE() << name << ": " << mismatches << " of " << ours.size() << " values differ from " << dump_path
                << ":" << first;
}

TEST_P(DequantGoldenTest, EveryTensorBitExact) {
  const std::string model = GetParam();
  const fs::path dir = dequant_dir() / model;
  const nlohmann::json index = nlohmann::json::parse(testing::read_file((dir / "index.json").string()));
  const fs::path gguf_path = fs::path(testing::shared_dir()) / "reference" / "models" / (model + ".gguf");
  auto file = GgufFile::open(gguf_path.string());
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->tensors().size(), index.size()) << "tensor count of " << gguf_path << " vs index.json";

  std::map<std::string, int> checked_per_type;
  for (const auto& [name, entry] : index.items()) {
    SCOPED_TRACE(model + " " + name);
    const GgufTensorInfo* info = file->find_tensor(name);
    ASSERT_NE(info, nullptr) << "tensor missing from " << gguf_path;
    const std::string type = entry.at("type");
    ASSERT_STREQ(info->dtype->name, type.c_str());
    EXPECT_EQ(info->shape, entry.at("shape").get<std::vector<int64_t>>());
    ASSERT_NE(info->dtype->dequant, nullptr) << type << " has no dequantizer";
    ASSERT_EQ(info->shape[0] % info->dtype->block_elems, 0);
    const auto n = static_cast<int64_t>(info->n_elements);
    const std::span<const uint8_t> bytes = file->tensor_bytes(*info);
    ASSERT_EQ(static_cast<int64_t>(bytes.size()), row_bytes(*info->dtype, n));

    std::vector<float> values(static_cast<size_t>(n));
    info->dtype->dequant(bytes.data(), values.data(), n);
    const std::string hash = testing::sha256_hex(values.data(), values.size() * sizeof(float));
    EXPECT_EQ(hash, entry.at("sha256").get<std::string>()) << "sha256 of dequantized " << type << " values";
    if (entry.contains("file") && entry.at("file").is_string()) {
      compare_with_dump(name, values, dir / entry.at("file").get<std::string>());
    }
    ++checked_per_type[type];
  }
  std::string summary;
  for (const auto& [type, count] : checked_per_type) summary += fmt::format(" {}x{}", count, type);
  RecordProperty("checked", summary);
  std::printf("%s:%s\n", model.c_str(), summary.c_str());
}

INSTANTIATE_TEST_SUITE_P(Models, DequantGoldenTest, ::testing::ValuesIn(reference_models()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace pocket
