// The hostile-file corpus: every case must give a clean bad-input error that names the file and the thing that
// is wrong, never a crash or an out-of-bounds read (this test also runs under ASan/UBSan).
#include <algorithm>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "hostile_corpus.h"

namespace pocket {
namespace {

using testing::hostile_base_file;
using testing::hostile_corpus;

TEST(GgufHostile, BaseFileIsValid) {
  std::vector<uint8_t> base = hostile_base_file();
  auto file = GgufFile::from_bytes(base, "base.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->architecture(), "llama");
  EXPECT_EQ(file->metadata().size(), 13u);
  ASSERT_EQ(file->tensors().size(), 3u);
  EXPECT_EQ(file->tensors()[1].offset, 2048u);
  EXPECT_EQ(file->tensors()[2].offset, 2144u);
  // The split/reassemble helper the cases are built with is exact.
  testing::RawGguf raw = testing::split_gguf(base);
  EXPECT_EQ(raw.bytes(), base);
  EXPECT_EQ(raw.data_offset(), file->data_offset());
  EXPECT_LT(raw.infos_end() + 1, raw.data_offset()) << "truncated_in_padding needs padding bytes";
}

TEST(GgufHostile, CorpusHasAtLeastThirtyUniqueCases) {
  auto cases = hostile_corpus();
  EXPECT_GE(cases.size(), 30u);
  std::set<std::string> names;
  for (const auto& c : cases) EXPECT_TRUE(names.insert(c.name).second) << "duplicate case " << c.name;
}

TEST(GgufHostile, EveryCaseIsACleanError) {
  int failures = 0;
  for (const auto& c : hostile_corpus()) {
    SCOPED_TRACE(c.name);
    // An exactly-sized heap copy, so that ASan sees any read past the end.
    std::vector<uint8_t> bytes(c.bytes);
    std::string name = c.name + ".gguf";
    auto file = GgufFile::from_bytes(bytes, name);
    if (file.ok()) {
      ADD_FAILURE() << c.name << ": the reader accepted the file";
      ++failures;
      continue;
    }
    const Status& status = file.status();
    EXPECT_EQ(status.kind(), ErrorKind::kBadInput) << status.message();
    EXPECT_EQ(status.message().rfind(name + ": ", 0), 0u) << "message does not start with the file name: "
                                                          << status.message();
    EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
    EXPECT_TRUE(testing::message_matches(status.message(), c.expect))
        << c.name << ": message \"" << status.message() << "\" does not mention \"" << c.expect << "\"";
    std::printf("  %-40s %s\n", c.name.c_str(), status.message().c_str());
  }
  EXPECT_EQ(failures, 0);
}

// Unusual but well-formed variants of the base file must still be read (the reader must not over-reject).
TEST(GgufHostile, UnusualValidVariantsAreAccepted) {
  const std::vector<uint8_t> base = hostile_base_file();
  const testing::RawGguf raw = testing::split_gguf(base);
  struct Variant {
    std::string name;
    std::function<void(testing::RawGguf&)> edit;
  };
  const std::vector<Variant> variants = {
      {"version_2", [](auto& r) { r.version = 2; }},
      {"tensor_infos_not_in_data_order", [](auto& r) { std::reverse(r.tensors.begin(), r.tensors.end()); }},
      {"trailing_bytes_after_data", [](auto& r) { r.data.resize(r.data.size() + 100, 0xee); }},
      {"gap_between_tensors", [](auto& r) {
         r.tensors[2].offset += 64;
         r.data.insert(r.data.begin() + 2144, 64, 0);
       }},
      {"no_tensors_no_data", [](auto& r) {
         r.tensors.clear();
         r.data.clear();
       }},
      {"no_tensors_huge_alignment", [](auto& r) {
         r.tensors.clear();
         r.data.clear();
         r.kvs.push_back({"general.alignment", testing::raw_u32_value(1u << 31)});
         r.alignment = 1;  // no padding: nothing follows the header
       }},
      {"no_metadata", [](auto& r) { r.kvs.clear(); }},
      {"unknown_keys_of_any_type", [](auto& r) {
         r.kvs.push_back({"x.context_length", testing::raw_string_value("not checked: x is not the arch")});
         r.kvs.push_back({"some.array", testing::raw_array_value(4, 2, {1, 0, 0, 0, 2, 0, 0, 0})});
       }},
      {"unsupported_but_known_tensor_type", [](auto& r) {
         r.tensors.push_back({"iq2", {256}, 16, 2272, {}});  // IQ2_XXS: 66 bytes per 256
         r.data.resize(2272 + 66, 0);
       }},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    testing::RawGguf r = raw;
    v.edit(r);
    std::vector<uint8_t> bytes = r.bytes();
    auto file = GgufFile::from_bytes(bytes, v.name + ".gguf");
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_EQ(file->tensors().size(), r.tensors.size());
    EXPECT_EQ(file->metadata().size(), r.kvs.size());
    for (size_t t = 0; t < r.tensors.size(); ++t) {
      EXPECT_EQ(file->tensors()[t].name, r.tensors[t].name);
      EXPECT_EQ(file->tensors()[t].offset, r.tensors[t].offset);
    }
  }
}

}  // namespace
}  // namespace pocket
