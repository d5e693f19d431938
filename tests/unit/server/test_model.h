// The embedded tiny-stories model and tokenizer, loaded once per test binary.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "embedded_model.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace pocket::server {

struct TestModel {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Tokenizer> tokenizer;

  static const TestModel& get() {
    static const TestModel m = [] {
      TestModel t;
      auto file = GgufFile::from_bytes(embedded_model_bytes(), "tiny-stories.gguf");
      if (!file.ok()) ADD_FAILURE() << file.status().message();
      auto tok = Tokenizer::from_gguf(*file);
      if (!tok.ok()) ADD_FAILURE() << tok.status().message();
      t.tokenizer = std::make_unique<Tokenizer>(std::move(tok).value());
      auto model = Model::load(std::move(file).value());
      if (!model.ok()) ADD_FAILURE() << model.status().message();
      t.model = *model;
      return t;
    }();
    return m;
  }
};

}  // namespace pocket::server
