// Weight matrices repacked at load into 16-row interleaved strips for the AVX-512 VNNI kernels.
//
// A strip holds 16 consecutive output rows (the last strip is zero-padded). Inside a strip, for every block of the
// original rows, the scales of the 16 rows come first (16 f16), then the quants so that one 64-byte vector holds
// 4 consecutive values of each of the 16 rows (lane r = row r): vpdpbusd against 4 broadcast activation bytes
// gives 16 rows' partial dot products at once (lanes = rows), for any number of tokens, with no shuffles.
//
//   Q8_0x16  per 32-block: d[16] f16 (32 B) | 8 groups x 64 B, u8 = q + 128                          = 544 B
//   Q4_0x16  per 32-block: d[16] f16 (32 B) | 4 x 64 B nibbles: low = group j, high = group j + 4      = 288 B
//   Q4_Kx16  per 256-super-block: d[16], dmin[16] f16 (64 B) | scales u8 [8 sub][16 rows] (128 B) |
//            mins as int16 pairs (m[2i], m[2i+1]) [4][16] (256 B) | 8 sub-blocks x 256 B nibbles       = 2496 B
//
// The same bytes as the original (8 % more for Q4_K), so decode streams the same amount of memory.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "base/large_buffer.h"
#include "tensor/dtype.h"

namespace pocket::kernels {

struct WeightView;

struct PackedWeight {
  DType type = DType::kF32;  // the original weight type
  int64_t rows = 0, cols = 0;
  int64_t n_strips = 0;      // ceil(rows / 16)
  int64_t strip_bytes = 0;   // bytes of one strip
  int64_t block_bytes = 0;   // bytes of one (super-)block of a strip
  LargeBuffer memory;        // n_strips * strip_bytes (2 MiB aligned, on huge pages: base/large_buffer.h)
  uint8_t* data() const { return memory.data(); }
  const uint8_t* strip(int64_t s) const { return data() + s * strip_bytes; }
};

constexpr int kPackRows = 16;

// True when the type has a packed layout and kernel on this build and CPU (the active target is avx512), unless
// the environment sets POCKET_PACK=0 (benchmarks, debugging).
bool packable(DType type);

// Repacks w (any thread count); nullptr when the type or target does not use packed weights or w.cols is not a
// whole number of blocks.
std::shared_ptr<const PackedWeight> pack_weight(const WeightView& w, int n_threads = 1);

// Stacks packed weights of one type and width into one, as if their rows were one matrix (part 0's rows first):
// several projections of the same input (Q|K|V, gate|up) then cost one matmul, one activation quantization and one
// thread-pool round instead of several. nullptr when a part is missing, the parts differ in type or width, or a
// part other than the last has rows that are not a whole number of 16-row strips.
std::shared_ptr<const PackedWeight> stack_packed(std::span<const std::shared_ptr<const PackedWeight>> parts);

// Process-wide allocator policy for the forward pass (glibc: mallopt): large activation buffers stay in the heap
// after being freed instead of being returned to the OS (mmap threshold 256 MiB, trim threshold 1 GiB), so that
// each layer's [n_tokens x width] temporaries do not page-fault afresh. Idempotent; a no-op elsewhere.
void keep_freed_activation_memory();

}  // namespace pocket::kernels
