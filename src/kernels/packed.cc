// Repacking of weight rows into 16-row strips (layouts in packed.h). Portable scalar code: it runs once at load.
#include "kernels/packed.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>

#include "base/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/simd/packed_kernels.h"
#include "kernels/vec_dot.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels {
namespace {

// Byte offsets inside one packed Q4_K super-block of a strip.
constexpr int64_t kQ4KScales = 64, kQ4KMins = 64 + 128, kQ4KQs = 64 + 128 + 256, kQ4KBytes = kQ4KQs + 8 * 256;

int64_t packed_block_bytes(DType t) {
  switch (t) {
    case DType::kQ8_0: return 32 + 8 * 64;
    case DType::kQ4_0: return 32 + 4 * 64;
    case DType::kQ4_K: return kQ4KBytes;
    default: return 0;
  }
}

// 16 rows x 32 unsigned 4-bit values u[r][e] -> 256 bytes: vector j (64 B), lane r, byte e4 holds value 4j + e4
// in its low nibble and value 16 + 4j + e4 in its high nibble.
void pack_nibbles16(const uint8_t u[kPackRows][32], uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    for (int r = 0; r < kPackRows; ++r) {
      for (int e = 0; e < 4; ++e) {
        out[64 * j + 4 * r + e] = static_cast<uint8_t>(u[r][4 * j + e] | (u[r][16 + 4 * j + e] << 4));
      }
    }
  }
}


// Packs block b of the 16 rows (rows[r] == nullptr: a zero padding row) into out.
void pack_block(DType t, const uint8_t* const rows[kPackRows], int64_t b, uint8_t* out) {
  auto* d16 = reinterpret_cast<uint16_t*>(out);
  uint8_t u[kPackRows][32];
  switch (t) {
    case DType::kQ8_0: {
      for (int r = 0; r < kPackRows; ++r) {
        const block_q8_0* blk = rows[r] ? reinterpret_cast<const block_q8_0*>(rows[r]) + b : nullptr;
        d16[r] = blk ? blk->d : 0;
        for (int g = 0; g < 8; ++g) {
          for (int e = 0; e < 4; ++e) {
            const uint8_t q = blk ? static_cast<uint8_t>(blk->qs[4 * g + e]) : 0;
            out[32 + 64 * g + 4 * r + e] = static_cast<uint8_t>(q ^ 0x80);
          }
        }
      }
      return;
    }
    case DType::kQ4_0: {
      for (int r = 0; r < kPackRows; ++r) {
        const block_q4_0* blk = rows[r] ? reinterpret_cast<const block_q4_0*>(rows[r]) + b : nullptr;
        d16[r] = blk ? blk->d : 0;
        for (int e = 0; e < 16; ++e) {
          u[r][e] = blk ? (blk->qs[e] & 0x0F) : 8;
          u[r][e + 16] = blk ? (blk->qs[e] >> 4) : 8;
        }
      }
      pack_nibbles16(u, out + 32);
      return;
    }
    case DType::kQ4_K: {
      auto* dmin16 = d16 + kPackRows;
      auto* mins = reinterpret_cast<int16_t*>(out + kQ4KMins);
      uint8_t sm[kPackRows][16];
      for (int r = 0; r < kPackRows; ++r) {
        const block_q4_K* blk = rows[r] ? reinterpret_cast<const block_q4_K*>(rows[r]) + b : nullptr;
        d16[r] = blk ? blk->d : 0;
        dmin16[r] = blk ? blk->dmin : 0;
        if (blk) {
          ref::unpack_k_scales(blk->scales, sm[r]);
        } else {
          std::memset(sm[r], 0, 16);
        }
        for (int j = 0; j < 8; ++j) out[kQ4KScales + 16 * j + r] = sm[r][j];
        for (int i = 0; i < 4; ++i) {
          mins[2 * (16 * i + r)] = sm[r][8 + 2 * i];
          mins[2 * (16 * i + r) + 1] = sm[r][8 + 2 * i + 1];
        }
      }
      for (int j = 0; j < 8; ++j) {  // sub-block j: low (even j) or high (odd j) nibbles of qs[32 (j/2) ..]
        for (int r = 0; r < kPackRows; ++r) {
          const block_q4_K* blk = rows[r] ? reinterpret_cast<const block_q4_K*>(rows[r]) + b : nullptr;
          for (int l = 0; l < 32; ++l) {
            const uint8_t q = blk ? blk->qs[32 * (j / 2) + l] : 0;
            u[r][l] = (j % 2 == 0) ? (q & 0x0F) : (q >> 4);
          }
        }
        pack_nibbles16(u, out + kQ4KQs + 256 * j);
      }
      return;
    }
    default: return;
  }
}

// True when [begin, end) lies inside one mapping of a file (a non-zero inode in /proc/self/maps).
bool file_backed(uintptr_t begin, uintptr_t end) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0, offset = 0, inode = 0;
    char perms[8] = {0}, dev[16] = {0};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu", &lo, &hi, perms, &offset, dev, &inode) != 6) continue;
    if (begin >= lo && end <= hi) return inode != 0;
  }
  return false;
}

// The original rows are no longer read on the fast path: when they are pages of a mapped file, drop them from
// this process (MADV_DONTNEED on a file mapping only unmaps: the page cache keeps them, and a later read by the
// reference path or an embedding lookup refaults them), so that peak RSS does not count the model twice.
// Anonymous memory (a buffer in a test) is left alone: there MADV_DONTNEED would discard the data.
void release_pages(const uint8_t* data, int64_t bytes) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + static_cast<uintptr_t>(bytes)) / page * page;
  if (end <= begin + 16 * page || !file_backed(begin, end)) return;
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace

void keep_freed_activation_memory() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
#endif
}

bool packable(DType type) {
  static const bool disabled = [] {
    const char* env = std::getenv("POCKET_PACK");
    return env != nullptr && std::string_view(env) == "0";
  }();
  return !disabled && active_target() == SimdTarget::kAvx512 && packed_block_bytes(type) > 0;
}

std::shared_ptr<const PackedWeight> pack_weight(const WeightView& w, int n_threads) {
  if (w.dtype == nullptr || w.data == nullptr || !packable(w.dtype->id)) return nullptr;
  const int64_t block_elems = w.dtype->block_elems;
  if (w.cols <= 0 || w.rows <= 0 || w.cols % block_elems != 0) return nullptr;
  auto p = std::make_shared<PackedWeight>();
  p->type = w.dtype->id;
  p->rows = w.rows;
  p->cols = w.cols;
  p->n_strips = (w.rows + kPackRows - 1) / kPackRows;
  p->block_bytes = packed_block_bytes(p->type);
  const int64_t nb = w.cols / block_elems;
  p->strip_bytes = nb * p->block_bytes;
  p->memory = LargeBuffer(static_cast<size_t>(p->n_strips * p->strip_bytes));
  if (p->data() == nullptr) return nullptr;
  PackedWeight* pw = p.get();
  auto run = [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const uint8_t* rows[kPackRows];
      for (int r = 0; r < kPackRows; ++r) {
        const int64_t row = s * kPackRows + r;
        rows[r] = row < w.rows ? w.row(row) : nullptr;
      }
      uint8_t* out = pw->data() + s * pw->strip_bytes;
      for (int64_t b = 0; b < nb; ++b) pack_block(pw->type, rows, b, out + b * pw->block_bytes);
    }
  };
  if (n_threads > 1) {
    ThreadPool::shared(n_threads).parallel_for(p->n_strips, run);
  } else {
    run(0, p->n_strips);
  }
  release_pages(w.data, w.rows * w.row_stride());
  return p;
}

std::shared_ptr<const PackedWeight> stack_packed(std::span<const std::shared_ptr<const PackedWeight>> parts) {
  if (parts.empty() || parts[0] == nullptr) return nullptr;
  const PackedWeight& first = *parts[0];
  int64_t rows = 0, n_strips = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const PackedWeight* p = parts[i].get();
    if (p == nullptr || p->type != first.type || p->cols != first.cols || p->strip_bytes != first.strip_bytes) {
      return nullptr;
    }
    if (i + 1 < parts.size() && p->rows % kPackRows != 0) return nullptr;
    rows += p->rows;
    n_strips += p->n_strips;
  }
  auto out = std::make_shared<PackedWeight>();
  out->type = first.type;
  out->rows = rows;
  out->cols = first.cols;
  out->n_strips = n_strips;
  out->strip_bytes = first.strip_bytes;
  out->block_bytes = first.block_bytes;
  out->memory = LargeBuffer(static_cast<size_t>(n_strips * out->strip_bytes));
  if (out->data() == nullptr) return nullptr;
  uint8_t* at = out->data();
  for (const auto& p : parts) {
    const size_t bytes = static_cast<size_t>(p->n_strips * p->strip_bytes);
    std::memcpy(at, p->data(), bytes);
    at += bytes;
  }
  return out;
}

}  // namespace pocket::kernels

namespace pocket::kernels::simd {

int64_t packed_aux_n_d(DType t, int64_t cols) { return t == DType::kQ4_K ? cols / kQK_K : cols / kQK8_0; }

int64_t packed_aux_stride(DType t, int64_t cols) {
  return t == DType::kQ4_K ? 5 * (cols / kQK_K) : 2 * (cols / kQK8_0);
}

void ref_quantize_packed_act(DType t, const float* x, int64_t cols, uint8_t* q, float* aux) {
  if (t == DType::kQ4_K) {
    const int64_t nsb = cols / kQK_K;
    dtype_info(DType::kQ8_K).quant(x, q, cols);
    const auto* blocks = reinterpret_cast<const block_q8_K*>(q);
    auto* c = reinterpret_cast<int32_t*>(aux + nsb);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      aux[sb] = blocks[sb].d;
      for (int i = 0; i < 4; ++i) {
        const int lo = blocks[sb].bsums[4 * i] + blocks[sb].bsums[4 * i + 1];
        const int hi = blocks[sb].bsums[4 * i + 2] + blocks[sb].bsums[4 * i + 3];
        c[4 * sb + i] = static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
      }
    }
    return;
  }
  const int64_t nb = cols / kQK8_0;
  const int off = t == DType::kQ8_0 ? 128 : 8;
  dtype_info(DType::kQ8_0).quant(x, q, cols);
  const auto* blocks = reinterpret_cast<const block_q8_0*>(q);
  auto* c = reinterpret_cast<int32_t*>(aux + nb);
  for (int64_t b = 0; b < nb; ++b) {
    int sum = 0;
    for (int j = 0; j < kQK8_0; ++j) sum += blocks[b].qs[j];
    aux[b] = half_to_float(blocks[b].d);
    c[b] = -off * sum;
  }
}

}  // namespace pocket::kernels::simd
