// Table, JSON and SVG of `pocket tradeoff` (tradeoff_report.h).
#include "tradeoff_report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace pocket::tradeoff {
namespace {

constexpr double kWidth = 900, kHeight = 560;
constexpr double kLeft = 90, kRight = 40, kTop = 60, kBottom = 70;
constexpr double kMinKld = 1e-6;  // floor of the log axis (the original's KLD is 0)

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string table(const std::vector<Row>& rows) {
  std::string out = fmt::format("{:<8} {:>10} {:>6} {:>11} {:>10} {:>11} {:>10} {:>8} {:>8}\n", "type", "size MiB",
                                "bpw", "prefill t/s", "decode t/s", "PPL", "KLD", "top-1 %", "RMS Δp %");
  for (const Row& r : rows) {
    out += fmt::format("{:<8} {:>10.2f} {:>6.2f} {:>11.1f} {:>10.1f} {:>11.4f} {:>10.6f} {:>8.2f} {:>8.3f}\n", r.type,
                       mib(r.file_size), r.bpw, r.prefill_tps, r.decode_tps, r.ppl, r.kld, 100.0 * r.top1,
                       100.0 * r.delta_p_rms);
  }
  return out;
}

nlohmann::json to_json(const Settings& s, const std::vector<Row>& rows) {
  nlohmann::json out = {{"model", s.model}, {"text", s.text}, {"n_ctx", s.n_ctx}, {"n_chunks", s.n_chunks},
                        {"threads", s.threads}, {"prefill_tokens", s.prefill_tokens},
                        {"decode_tokens", s.decode_tokens}};
  nlohmann::json list = nlohmann::json::array();
  for (const Row& r : rows) {
    list.push_back({{"type", r.type}, {"path", r.path}, {"original", r.original}, {"file_size", r.file_size},
                    {"bpw", r.bpw}, {"prefill_tps", r.prefill_tps}, {"decode_tps", r.decode_tps}, {"ppl", r.ppl},
                    {"ppl_stderr", r.ppl_stderr}, {"kld", r.kld}, {"kld_stderr", r.kld_stderr},
                    {"top1_agreement", r.top1}, {"delta_p_rms", r.delta_p_rms}});
  }
  out["rows"] = std::move(list);
  return out;
}

// x: file size in MiB (linear from 0), y: log10 KLD (the original sits on the floor line).
std::string svg(const Settings& s, const std::vector<Row>& rows) {
  double max_size = 0, lo = std::log10(kMinKld), hi = -2;
  for (const Row& r : rows) {
    max_size = std::max(max_size, mib(r.file_size));
    if (r.kld > 0) hi = std::max(hi, std::ceil(std::log10(r.kld)));
  }
  for (const Row& r : rows) {
    if (r.kld > kMinKld) lo = std::min(lo, std::floor(std::log10(r.kld)));
  }
  if (max_size <= 0) max_size = 1;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double size) { return kLeft + plot_w * size / (max_size * 1.1); };
  auto py = [&](double kld) {
    const double l = std::log10(std::max(kld, kMinKld));
    return kTop + plot_h * (hi - l) / (hi - lo);
  };
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kWidth, kHeight);
  out += fmt::format("<text x=\"{}\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">{}: quality vs size "
                     "(KLD against the original, -c {}, {} windows)</text>\n",
                     kWidth / 2, escape_xml(s.model), s.n_ctx, s.n_chunks);
  // Axes, decade grid lines and labels.
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", kLeft, kTop,
                     kTop + plot_h);
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", kLeft, kTop + plot_h,
                     kLeft + plot_w);
  for (double d = lo; d <= hi + 1e-9; d += 1) {
    const double y = py(std::pow(10.0, d));
    out += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>\n", kLeft, y,
                       kLeft + plot_w);
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">1e{}</text>\n", kLeft - 6, y + 4,
                       static_cast<int>(d));
  }
  for (int i = 0; i <= 5; ++i) {
    const double size = max_size * 1.1 * i / 5;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.1f}</text>\n", px(size),
                       kTop + plot_h + 18, size);
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">file size (MiB)</text>\n", kLeft + plot_w / 2,
                     kHeight - 22);
  out += fmt::format("<text x=\"20\" y=\"{0}\" transform=\"rotate(-90 20 {0})\" text-anchor=\"middle\">mean KL "
                     "divergence (nats, log scale; lower is better)</text>\n", kTop + plot_h / 2);
  // Points with labels: type, bpw, speeds, top-1.
  for (const Row& r : rows) {
    const double x = px(mib(r.file_size)), y = py(r.kld);
    const char* color = r.original ? "#2a7" : "#c33";
    out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"/>\n", x, y, color);
    const bool left = x > kLeft + plot_w * 0.7;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\">{} {:.2f} bpw, top-1 {:.1f}%</text>\n",
                       left ? x - 8 : x + 8, y - 4, left ? "end" : "start", escape_xml(r.type), r.bpw,
                       100.0 * r.top1);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" fill=\"#555\">pp {:.0f} t/s, tg {:.0f} "
                       "t/s</text>\n", left ? x - 8 : x + 8, y + 10, left ? "end" : "start", r.prefill_tps,
                       r.decode_tps);
  }
  out += "</svg>\n";
  return out;
}

Status write_text(const std::string& path, const std::string& content) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return failure("cannot create {}: {}", path, std::strerror(errno));
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  if (std::fclose(f) != 0 || !ok) return failure("cannot write {}: {}", path, std::strerror(errno));
  return ok_status();
}

}  // namespace pocket::tradeoff
