// Post-processors of tokenizer.json: add the special tokens around an encoded sequence (TemplateProcessing,
// BertProcessing, RobertaProcessing) and trim byte-level offsets (ByteLevel), as HF `tokenizers`.
#pragma once
#include <memory>

#include "models/tokenizers/encoding.h"
#include "models/tokenizers/json_util.h"

namespace glint::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Number of tokens process() adds to one sequence when add_special_tokens is set.
  virtual size_t added_tokens() const = 0;
  virtual void process(Encoding& e, bool add_special_tokens) const = 0;
};

// ByteLevel's trim_offsets: offsets exclude the leading/trailing spaces of their tokens (HF process_offsets).
void trim_byte_level_offsets(Encoding& e, bool add_prefix_space);

// A template "[CLS]:0 $A:0 [SEP]:0" with its special tokens (name -> id); used for BERT's legacy vocab.txt.
std::shared_ptr<const PostProcessor> make_template_processing(
    const std::string& single, const std::vector<std::pair<std::string, uint32_t>>& special_tokens);
std::shared_ptr<const PostProcessor> make_byte_level_post_processor(bool trim_offsets, bool add_prefix_space);

// nullptr for a JSON null.
std::shared_ptr<const PostProcessor> post_processor_from_json(const JsonAt& j);

}  // namespace glint::tok
