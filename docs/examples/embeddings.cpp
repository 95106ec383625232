// sentence-transformers' quick-start, in glint: AutoModel loads a BERT sentence-embedding model (all-MiniLM-L6-v2
// and the like) with its pooling and normalisation; encode gives one row per text, compared here by cosine.
//   embeddings MODEL TEXT TEXT...
// (built with the project as `example_embeddings`, so this file always compiles against the current API)
#include <cmath>
#include <cstdio>
#include <glint.h>
#include <models/auto.h>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL TEXT TEXT...\n", argv[0]);
    return 2;
  }
  try {
    const auto model = glint::AutoModel::from_pretrained(argv[1]);
    const std::vector<std::string> texts(argv + 2, argv + argc);
    const glint::Tensor embeddings = model->encode(texts);  // (N, dim) f32 on the CPU
    const std::vector<float> e = embeddings.to_f32();
    const int64_t dim = embeddings.dim(1);
    auto dot = [&](size_t a, size_t b) {
      double s = 0;
      for (int64_t d = 0; d < dim; ++d) s += double(e[a * dim + d]) * e[b * dim + d];
      return s;
    };
    for (size_t i = 1; i < texts.size(); ++i)
      std::printf("cos(\"%s\", \"%s\") = %.4f\n", texts[0].c_str(), texts[i].c_str(),
                  dot(0, i) / std::sqrt(dot(0, 0) * dot(i, i)));
  } catch (const glint::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
