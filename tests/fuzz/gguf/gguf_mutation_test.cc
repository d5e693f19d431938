// Random mutations of the hostile corpus and of valid files (fixed seed): the reader must return either a file
// whose every value and tensor can be read, or a clean bad-input error; never crash or read out of bounds (this
// test is meant to be run in the ASan/UBSan build too). A cheap, always-built stand-in for fuzz_gguf.
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "gguf_touch.h"
#include "hostile_corpus.h"

namespace pocket {
namespace {

constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;
constexpr int kMutations = 20000;

// Values that break sizes and offsets: zero, one, around 2^31/2^32/2^63/2^64, and plausible-but-wrong ones.
constexpr uint64_t kInteresting[] = {0, 1, 2, 4, 5, 31, 32, 33, 255, 65535, 65536, 0x7fffffffull, 0x80000000ull,
                                     0xffffffffull, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
                                     0xfffffffffffffff8ull, 0xffffffffffffffffull, 1ull << 40, 1ull << 61,
                                     (1ull << 62) + 1};

std::vector<std::vector<uint8_t>> seeds() {
  std::vector<std::vector<uint8_t>> out;
  out.push_back(testing::hostile_base_file());
  for (auto& c : testing::hostile_corpus()) {
    if (c.bytes.size() < 8192) out.push_back(std::move(c.bytes));  // skip the 64 KiB key: it adds nothing
  }
  // A valid file with another alignment and more tensor types.
  GgufWriter writer(64);
  writer.set_string("general.architecture", "gemma");
  writer.set_u64("gemma.context_length", 8);
  for (auto [name, type, ne0] : {std::tuple{"a", DType::kQ4_K, 256}, {"b", DType::kQ8_0, 64},
                                 {"c", DType::kIQ4_NL, 32}, {"d", DType::kBF16, 4}, {"e", DType::kQ6_K, 256}}) {
    std::vector<uint8_t> data(static_cast<size_t>(row_bytes(dtype_info(type), ne0)));
    for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<uint8_t>(k * 13);
    EXPECT_TRUE(writer.add_tensor(name, type, {ne0}, data).ok());
  }
  out.push_back(writer.to_bytes());
  return out;
}

void mutate(std::vector<uint8_t>& b, std::mt19937_64& rng) {
  auto pick = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  // Most structure is in the first bytes (header, kvs, tensor infos): aim there half of the time.
  auto position = [&]() { return (rng() & 1) ? pick(std::min<uint64_t>(b.size(), 1200)) : pick(b.size()); };
  switch (rng() % 6) {
    case 0:  // bit flips
      for (int k = 0, n = 1 + static_cast<int>(pick(4)); k < n && !b.empty(); ++k) b[position()] ^= 1u << pick(8);
      break;
    case 1:  // truncation
      b.resize(pick(b.size() + 1));
      break;
    case 2: {  // byte insertion
      uint64_t at = b.empty() ? 0 : position();
      std::vector<uint8_t> bytes(1 + pick(16));
      for (auto& x : bytes) x = static_cast<uint8_t>(rng());
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin(), bytes.end());
      break;
    }
    case 3:  // byte deletion
      if (!b.empty()) {
        uint64_t at = position();
        uint64_t n = std::min<uint64_t>(1 + pick(16), b.size() - at);
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      }
      break;
    case 4:    // u64 overwrite with a huge or boundary value
    case 5: {  // u32 overwrite (type ids, n_dims)
      size_t width = (rng() % 6 == 4) ? 8 : 4;
      if (b.size() < width) break;
      uint64_t v = kInteresting[pick(std::size(kInteresting))] + (rng() % 3) - 1;
      uint64_t at = std::min<uint64_t>(position(), b.size() - width);
      std::memcpy(b.data() + at, &v, width);
      break;
    }
  }
}

TEST(GgufMutation, RandomMutationsNeverCrash) {
  auto corpus = seeds();
  std::mt19937_64 rng(kSeed);
  int accepted = 0, rejected = 0;
  uint64_t checksum = 0;
  for (int m = 0; m < kMutations; ++m) {
    // Half the time a valid file (the first and the last seed) with one mutation, else any seed with 1-3.
    bool valid = rng() & 1;
    const auto& seed = valid ? ((rng() & 1) ? corpus.front() : corpus.back()) : corpus[rng() % corpus.size()];
    std::vector<uint8_t> bytes = seed;
    for (int k = 0, n = valid ? 1 : 1 + static_cast<int>(rng() % 3); k < n; ++k) mutate(bytes, rng);
    bytes.shrink_to_fit();  // exactly-sized heap block: ASan catches a read one past the end
    auto file = GgufFile::from_bytes(bytes, "mutant.gguf");
    if (file.ok()) {
      ++accepted;
      checksum += fuzzing::touch_gguf(*file);
    } else {
      ++rejected;
      ASSERT_EQ(file.status().kind(), ErrorKind::kBadInput) << "mutation " << m << ": " << file.status().message();
      ASSERT_EQ(file.status().message().rfind("mutant.gguf: ", 0), 0u) << file.status().message();
    }
  }
  std::printf("%d mutants: %d accepted, %d rejected (checksum %llu)\n", kMutations, accepted, rejected,
              static_cast<unsigned long long>(checksum));
  // Both outcomes must be exercised, or the mutator is not testing anything.
  EXPECT_GT(accepted, kMutations / 50);
  EXPECT_GT(rejected, kMutations / 4);
}

}  // namespace
}  // namespace pocket
