// Roofline probes for `pocket bench` (PERFORMANCE.md "The probes"): measured in the same process, same threads.
#pragma once

namespace pocket::bench {

// Streaming read over a buffer of >= 256 MiB split across `threads`, best of `passes`; GB/s (1e9 bytes/s).
double bandwidth_gbs(int threads, int passes = 5);
// Register-resident f32 FMA loop on all `threads` (AVX-512F or AVX2+FMA when the CPU has it); GFLOP/s, 2 per FMA.
double f32_peak_gflops(int threads);
// Register-resident int8 dot loop (vpdpbusd with AVX-512 VNNI, else AVX2 maddubs); GOP/s, 2 per multiply-add.
double int8_peak_gops(int threads);
// The instruction path the peak probes used: "avx512vnni", "avx2", or "scalar".
const char* peak_isa();

}  // namespace pocket::bench
