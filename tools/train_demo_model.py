#!/usr/bin/env python3
"""Train tessera's bundled demo model: a tiny Llama that writes King James scripture.

    bible "Genesis 1:1-Revelation 22:21" > kjv.txt          # Debian package bible-kjv
    python3 tools/train_demo_model.py --text kjv.txt --out models/kjv-tiny \\
        --fixture tests/data/e2e/kjv_tiny.json [--minutes 5]

Steps: clean the text (verse numbers and chapter headings removed, wrapped lines joined,
one verse per line), hold out the last books for validation, train a byte-level BPE
tokenizer on the training books, train a LlamaForCausalLM from scratch on the GPU
(bf16 autocast, AdamW, cosine schedule over the wall-clock budget), save it in float32
in the HF layout with tokenizer files and a model card, report validation perplexity
against a unigram baseline, and record HF transformers' greedy continuations of a few
prompts as a fixture for tessera's end-to-end test.

--clean-only prints the cleaned text statistics and exits (no torch needed).
"""

import argparse
import json
import math
import os
import re
import shlex
import sys
import time

EOT = "<|endoftext|>"  # id 0: begins every book and ends generation (bos == eos)

PROMPTS = [
    "In the beginning",
    "And the LORD said unto Moses,",
    "Blessed are the",
    "The LORD is my shepherd;",
]

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}{{ message['content'] | trim }}\n{% endfor %}"
)

# ----------------------------------------------------------------------------- text cleaning

# `bible "Genesis 1:1-Revelation 22:21"` prints, per chapter:
#   <blank line>
#   Genesis 1            <- book and chapter heading
#   <blank line>
#     1 In the beginning God created the heaven and the earth.
#     2 And the earth was without form, and void; and darkness was upon the face of
#   the deep. And the Spirit of God moved upon the face of the waters.
# i.e. verses start with an indented verse number and wrap at ~80 columns.
HEADING_RE = re.compile(r"^((?:[1-3] )?[A-Z][A-Za-z]*(?: [A-Za-z]+)*?) (\d+)\s*$")
VERSE_RE = re.compile(r"^\s+(\d+)\s+(\S.*)$")
# Other layouts seen from KJV tools: "Genesis 1:1 In the ...", "Gen1:1: In the ...", "1:1 In the ..."
REF_RE = re.compile(r"^\s*((?:[1-3] ?)?[A-Z][A-Za-z]*(?: of [A-Z][a-z]+)?)?\s?(\d+):(\d+):?\s+(\S.*)$")


def _norm_space(s):
    return re.sub(r"\s+", " ", s).strip()


def parse_kjv(raw):
    """Text from `bible` -> list of (book, [chapter, ...]) with chapter = [verse text, ...].

    Verse numbers, references and chapter headings are dropped and wrapped lines joined, so
    the model learns flowing scripture. Raises ValueError if the layout is not recognised."""
    books = _parse_headed(raw)
    if not books:
        books = _parse_referenced(raw)
    if not books:
        sample = "\n".join(raw.splitlines()[:8])
        raise ValueError(f"unrecognised KJV text layout; first lines:\n{sample}")
    return books


def _parse_headed(raw):
    books = []          # [(book, [[verse, ...], ...])]
    verse = None        # list of line fragments of the current verse
    prev_blank = True
    nverses = 0

    def flush():
        nonlocal verse, nverses
        if verse is not None and books and books[-1][1]:
            text = _norm_space(" ".join(verse))
            if text:
                books[-1][1][-1].append(text)
                nverses += 1
        verse = None

    for line in raw.splitlines():
        if not line.strip():
            prev_blank = True
            continue
        m = HEADING_RE.match(line)
        if m and prev_blank and not line[0].isspace():
            flush()
            book = m.group(1)
            if not books or books[-1][0] != book:
                books.append((book, []))
            books[-1][1].append([])
            prev_blank = False
            continue
        prev_blank = False
        m = VERSE_RE.match(line)
        if m and books:
            flush()
            verse = [m.group(2)]
        elif verse is not None:
            verse.append(line)         # continuation of a wrapped verse
        # else: text before the first heading (ignored)
    flush()
    books = [(b, [c for c in chs if c]) for b, chs in books]
    books = [(b, chs) for b, chs in books if chs]
    return books if nverses > 100 else []


def _parse_referenced(raw):
    books = []
    last_key = None
    nverses = 0
    for line in raw.splitlines():
        m = REF_RE.match(line)
        if m:
            book = m.group(1) or (books[-1][0] if books else "Book")
            chapter = m.group(2)
            if not books or books[-1][0] != book:
                books.append((book, []))
                last_key = None
            if last_key != chapter:
                books[-1][1].append([])
                last_key = chapter
            books[-1][1][-1].append(_norm_space(m.group(4)))
            nverses += 1
        elif line.strip() and books and books[-1][1] and books[-1][1][-1]:
            chs = books[-1][1]
            chs[-1][-1] = _norm_space(chs[-1][-1] + " " + line)
    return books if nverses > 100 else []


def book_text(chapters):
    """One verse per line, a blank line between chapters."""
    return "\n\n".join("\n".join(vs) for vs in chapters)


def split_books(books, heldout_frac=0.05):
    """Hold out the longest run of final books whose text is at most heldout_frac of the
    whole (at least one book). Returns (train_books, heldout_books)."""
    sizes = [len(book_text(chs)) for _, chs in books]
    total = sum(sizes)
    k, acc = 0, 0
    while k < len(books) - 1 and acc + sizes[-1 - k] <= heldout_frac * total:
        acc += sizes[-1 - k]
        k += 1
    k = max(k, 1)
    return books[:-k], books[-k:]


# ----------------------------------------------------------------------------- tokenizer

def train_tokenizer(train_texts, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    # ByteLevel with use_regex=True applies GPT-2's split regex before mapping bytes to symbols.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(train_texts, trainer=trainer, length=len(train_texts))
    eot_id = tok.token_to_id(EOT)
    if eot_id != 0:
        raise RuntimeError(f"{EOT} got id {eot_id}, expected 0")
    # encode(text) with special tokens -> [<|endoftext|>] + ids, like the start of every book in training
    tok.post_processor = processors.TemplateProcessing(
        single=f"{EOT} $A", pair=f"{EOT} $A {EOT} $B:1", special_tokens=[(EOT, eot_id)])
    return tok


def tokenizer_config(model_max_length):
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": EOT,
        "eos_token": EOT,
        "unk_token": None,
        "pad_token": None,
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "chat_template": CHAT_TEMPLATE,
        "added_tokens_decoder": {
            "0": {"content": EOT, "lstrip": False, "normalized": False, "rstrip": False,
                  "single_word": False, "special": True},
        },
    }


def encode_stream(tok, texts):
    """[EOT] + tokens(text) for each text, concatenated."""
    ids = []
    for enc in tok.encode_batch(texts, add_special_tokens=False):
        ids.append(0)
        ids.extend(enc.ids)
    return ids


def unigram_nll(train_ids, target_ids, vocab_size):
    """Mean NLL (nats) of target_ids under add-one-smoothed unigram frequencies of train_ids."""
    counts = [0] * vocab_size
    for t in train_ids:
        counts[t] += 1
    denom = len(train_ids) + vocab_size
    logp = [math.log((c + 1) / denom) for c in counts]
    return -sum(logp[t] for t in target_ids) / len(target_ids)


def eval_windows(n_tokens, ctx):
    """Non-overlapping windows over a stream of n_tokens: (start, length) pairs such that
    inputs = s[start:start+length], targets = s[start+1:start+1+length]; every token but the
    first is predicted exactly once with up to ctx tokens of context."""
    out = []
    i = 0
    while i < n_tokens - 1:
        n = min(ctx, n_tokens - 1 - i)
        out.append((i, n))
        i += n
    return out


# ----------------------------------------------------------------------------- torch parts

def set_fp32_precise(torch):
    for fn in (lambda: setattr(torch.backends.cuda.matmul, "allow_tf32", False),
               lambda: setattr(torch.backends.cudnn, "allow_tf32", False),
               lambda: torch.set_float32_matmul_precision("highest")):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            print(f"warning: precision setting failed: {e!r}", flush=True)


def model_nll(torch, model, stream, ctx, device, batch=64, autocast=False):
    """Mean NLL (nats) over non-overlapping windows of a token stream."""
    import torch.nn.functional as F
    data = torch.tensor(stream, dtype=torch.long, device=device)
    wins = eval_windows(len(stream), ctx)
    full = [w for w in wins if w[1] == ctx]
    rest = [w for w in wins if w[1] != ctx]
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        groups = [full[i:i + batch] for i in range(0, len(full), batch)] + [[w] for w in rest]
        for g in groups:
            n = g[0][1]
            starts = torch.tensor([s for s, _ in g], device=device)
            idx = starts[:, None] + torch.arange(n + 1, device=device)[None, :]
            seq = data[idx]
            x, y = seq[:, :-1], seq[:, 1:]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                logits = model(input_ids=x).logits
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum")
            total += float(loss)
            count += y.numel()
    if was_training:
        model.train()
    return total / count, count


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", required=True, help="KJV text from `bible \"Genesis 1:1-Revelation 22:21\"`")
    ap.add_argument("--out", required=True, help="model folder to write, e.g. models/kjv-tiny")
    ap.add_argument("--fixture", required=False, default=None, help="JSON fixture to write")
    ap.add_argument("--minutes", type=float, default=5.0, help="training wall-clock budget (default 5)")
    ap.add_argument("--max-epochs", type=float, default=8.0,
                    help="also stop after this many passes over the training tokens (default 8)")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32, help="sequences per step (default 32)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--heldout-frac", type=float, default=0.05)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--clean-only", action="store_true", help="parse and split the text, print stats, exit")
    args = ap.parse_args(argv)
    t_start = time.time()
    command = "python3 " + " ".join(shlex.quote(a) for a in ([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])))

    # ---- data
    with open(args.text, encoding="utf-8", errors="replace") as fh:
        raw = fh.read()
    books = parse_kjv(raw)
    train_books, val_books = split_books(books, args.heldout_frac)
    n_verses = sum(len(c) for _, chs in books for c in chs)
    n_chapters = sum(len(chs) for _, chs in books)
    train_texts = [book_text(chs) for _, chs in train_books]
    val_texts = [book_text(chs) for _, chs in val_books]
    n_train_chars, n_val_chars = sum(map(len, train_texts)), sum(map(len, val_texts))
    print(f"text: {len(books)} books, {n_chapters} chapters, {n_verses} verses; "
          f"train {len(train_books)} books ({n_train_chars} chars), held out {len(val_books)} books "
          f"({', '.join(b for b, _ in val_books)}; {n_val_chars} chars, "
          f"{100 * n_val_chars / (n_train_chars + n_val_chars):.1f}%)", flush=True)
    print("first verses: " + " | ".join(books[0][1][0][:2]), flush=True)
    if args.clean_only:
        print(train_texts[0][:600])
        return 0

    # ---- tokenizer
    t0 = time.time()
    tok = train_tokenizer(train_texts, args.vocab)
    vocab = tok.get_vocab_size()
    model_vocab = ((vocab + 63) // 64) * 64   # divides over 1, 2 and 4 ranks
    train_ids = encode_stream(tok, train_texts)
    val_ids = encode_stream(tok, val_texts)
    print(f"tokenizer: vocab {vocab} (model vocab {model_vocab}); train {len(train_ids)} tokens, "
          f"held out {len(val_ids)} tokens ({time.time() - t0:.1f}s)", flush=True)

    os.makedirs(args.out, exist_ok=True)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as fh:
        json.dump(tokenizer_config(512), fh, indent=2)
        fh.write("\n")

    val_targets = val_ids[1:]
    uni_nll = unigram_nll(train_ids, val_targets, model_vocab)
    print(f"unigram baseline (add-one): held-out NLL {uni_nll:.4f} nats, perplexity {math.exp(uni_nll):.2f}",
          flush=True)

    # ---- model
    import torch
    import torch.nn.functional as F
    import transformers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    try:
        transformers.utils.logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass
    print(f"torch {torch.__version__}, transformers {transformers.__version__}", flush=True)
    if not torch.cuda.is_available():
        print("error: CUDA is not available", file=sys.stderr)
        return 2
    device = "cuda"
    device_name = torch.cuda.get_device_name()
    torch.manual_seed(args.seed)

    config = LlamaConfig(
        vocab_size=model_vocab, hidden_size=256, intermediate_size=768, num_hidden_layers=6,
        num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=512, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=True,
        bos_token_id=0, eos_token_id=0, pad_token_id=None, hidden_act="silu", initializer_range=0.02)
    model = LlamaForCausalLM(config).to(device)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters, attention {getattr(model.config, '_attn_implementation', '?')}",
          flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), fused=True)
    except Exception:  # noqa: BLE001
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95))

    data = torch.tensor(train_ids, dtype=torch.long, device=device)
    ctx, B = args.ctx, args.batch
    offs = torch.arange(ctx + 1, device=device)[None, :]
    budget_s = args.minutes * 60.0
    token_budget = args.max_epochs * len(train_ids)
    warmup = 100
    min_lr_frac = 0.1

    def lr_at(step, progress):
        w = min(1.0, (step + 1) / warmup)
        cos = min_lr_frac + (1 - min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return args.lr * w * cos

    best = (float("inf"), -1, None)
    history = []
    step, tokens_seen, loss_acc, loss_n = 0, 0, 0.0, 0
    t_train = time.time()
    eval_every = 250
    print(f"training: batch {B} x {ctx}, budget {args.minutes} min or {args.max_epochs} epochs", flush=True)
    while True:
        progress = max((time.time() - t_train) / budget_s, tokens_seen / token_budget)
        if progress >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, progress)
        ix = torch.randint(0, data.numel() - ctx - 1, (B, 1), device=device)
        seq = data[ix + offs]
        x, y = seq[:, :-1], seq[:, 1:]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=x).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += B * ctx
        if step % 25 == 0:
            loss_acc += loss.detach().item()
            loss_n += 1
        if step % 100 == 0:
            el = time.time() - t_train
            print(f"step {step:6d}  loss {loss_acc / max(loss_n, 1):.4f}  lr {opt.param_groups[0]['lr']:.2e}  "
                  f"epochs {tokens_seen / len(train_ids):.2f}  {el:.0f}s  {step / el:.1f} steps/s", flush=True)
            loss_acc, loss_n = 0.0, 0
        if step % eval_every == 0:
            v, _ = model_nll(torch, model, val_ids, ctx, device, autocast=True)
            history.append((step, v))
            mark = ""
            if v < best[0]:
                best = (v, step, {k: t.detach().clone() for k, t in model.state_dict().items()})
                mark = "  (best)"
            print(f"   held-out loss {v:.4f} (ppl {math.exp(v):.2f}){mark}", flush=True)
    train_s = time.time() - t_train
    v, _ = model_nll(torch, model, val_ids, ctx, device, autocast=True)
    history.append((step, v))
    print(f"done: {step} steps, {tokens_seen / len(train_ids):.1f} epochs in {train_s:.0f}s; "
          f"final held-out loss {v:.4f}", flush=True)
    chosen_step = step
    if best[2] is not None and best[0] < v:
        model.load_state_dict(best[2])
        chosen_step = best[1]
        print(f"keeping the checkpoint of step {best[1]} (held-out loss {best[0]:.4f})", flush=True)
    best = None

    # ---- save (float32)
    model = model.float()
    model.generation_config = GenerationConfig(bos_token_id=0, eos_token_id=0)
    for f in os.listdir(args.out):
        if f.endswith(".safetensors") or f.endswith(".safetensors.index.json"):
            os.remove(os.path.join(args.out, f))
    model.save_pretrained(args.out)
    if not os.path.exists(os.path.join(args.out, "generation_config.json")):
        GenerationConfig(bos_token_id=0, eos_token_id=0).save_pretrained(args.out)
    del model, opt, data
    torch.cuda.empty_cache()
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out)
               if f.endswith(".safetensors"))
    print(f"saved {args.out} ({size / 2**20:.1f} MiB of safetensors)", flush=True)

    # ---- reload in float32 (eager attention, TF32 off): perplexity and fixture
    set_fp32_precise(torch)
    from transformers import AutoModelForCausalLM
    try:
        m = AutoModelForCausalLM.from_pretrained(args.out, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        m = AutoModelForCausalLM.from_pretrained(args.out, torch_dtype=torch.float32, attn_implementation="eager")
    m = m.float().to(device).eval()
    nll, n_eval = model_nll(torch, m, val_ids, ctx, device, batch=32, autocast=False)
    ppl, uni_ppl = math.exp(nll), math.exp(uni_nll)
    print(f"held-out perplexity (f32, ctx {ctx}, {n_eval} tokens): model {ppl:.2f}, unigram {uni_ppl:.2f}",
          flush=True)

    results = []
    try:
        from transformers import AutoTokenizer
        try:
            hf_tok = AutoTokenizer.from_pretrained(args.out)
        except Exception as e:  # noqa: BLE001
            print(f"warning: AutoTokenizer failed ({e!r}); using PreTrainedTokenizerFast", flush=True)
            from transformers import PreTrainedTokenizerFast
            hf_tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(args.out, "tokenizer.json"),
                                             bos_token=EOT, eos_token=EOT)
        for prompt in PROMPTS:
            ids = list(hf_tok(prompt)["input_ids"])
            raw_ids = tok.encode(prompt).ids
            if ids != raw_ids:
                print(f"warning: transformers ids {ids} != tokenizers ids {raw_ids} for {prompt!r}", flush=True)
            x = torch.tensor([ids], dtype=torch.long, device=device)
            with torch.no_grad():
                out = m.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=args.max_new_tokens,
                                 do_sample=False, eos_token_id=0, pad_token_id=0,
                                 output_logits=True, return_dict_in_generate=True)
            seq = out.sequences[0].tolist()
            gen = seq[len(ids):]
            margin = None
            if getattr(out, "logits", None):
                lg = torch.stack([s[0] for s in out.logits]).float()
                top = torch.topk(lg, 2, dim=-1).values
                margin = float((top[:, 0] - top[:, 1]).min())
            text = hf_tok.decode(gen, skip_special_tokens=True)
            results.append({"prompt": prompt, "prompt_ids": ids, "generated_ids": gen, "generated_text": text,
                            "min_top2_margin": margin})
            print(f"\n>>> {prompt}{text}\n    (min top-2 margin {margin})", flush=True)
    except Exception:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("error: fixture generation failed", flush=True)

    if args.fixture and results:
        os.makedirs(os.path.dirname(os.path.abspath(args.fixture)), exist_ok=True)
        with open(args.fixture, "w") as fh:
            json.dump({"model": args.out, "transformers_version": transformers.__version__,
                       "torch_version": torch.__version__, "device": device_name, "dtype": "float32",
                       "attn_implementation": "eager", "max_new_tokens": args.max_new_tokens,
                       "cases": results}, fh, indent=2)
            fh.write("\n")
        print(f"\nwrote {args.fixture}", flush=True)

    # ---- model card
    card = f"""# kjv-tiny

A tiny Llama-architecture language model trained from scratch on the King James Bible, bundled
with tessera as a demo model that writes real (if not always sensible) scripture-like text.
It is a toy: {n_params / 1e6:.2f}M parameters, trained for {train_s / 60:.1f} minutes.

## Data
- Source: the King James Version (Authorized Version of 1611) as printed by
  Debian's `bible-kjv` package: `bible "Genesis 1:1-Revelation 22:21" > kjv.txt`.
- Licence: the KJV text is in the public domain in most of the world. In the United Kingdom the
  rights in the Authorized Version are vested in the Crown and administered under Letters Patent
  (the Crown's patentee, Cambridge University Press, licenses its printing); this model and its
  text samples are derived from that text.
- Cleaning: verse numbers and chapter headings removed, wrapped lines joined; one verse per line,
  a blank line between chapters, each book preceded by `{EOT}`.
- Split: training = {len(train_books)} books ({len(train_ids)} tokens); held out = the last
  {len(val_books)} books ({', '.join(b for b, _ in val_books)}; {len(val_ids)} tokens).

## Tokenizer
Byte-level BPE trained with Hugging Face `tokenizers` on the training books only: vocabulary
{vocab} (model embedding rows: {model_vocab}), GPT-2 style ByteLevel pre-tokenizer
(add_prefix_space false), ByteLevel decoder. `{EOT}` (id 0) is both bos and eos; the
post-processor prepends it to every encoded text. `tokenizer_config.json` carries a minimal chat
template (bos, then each message's content on its own line); the model was not trained on chat.

## Model
LlamaForCausalLM: hidden 256, intermediate 768, 6 layers, 8 attention heads, 4 key-value heads
(head dim 32), RoPE theta 10000, max positions 512, RMSNorm eps 1e-5, tied input/output
embeddings. Weights saved in float32 (`model.safetensors`, {size / 2**20:.1f} MiB).
Shapes divide evenly over 1, 2 and 4 tensor-parallel ranks.

## Training
AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), peak lr {args.lr:g} with 100 warmup steps
and cosine decay to 10% over the budget, batch {B} x {ctx} tokens, bf16 autocast, gradient clip 1.0,
seed {args.seed}. {step} steps ({tokens_seen / len(train_ids):.1f} epochs) in {train_s / 60:.1f}
minutes on {device_name}; the budget was {args.minutes:g} minutes or {args.max_epochs:g} epochs,
whichever came first. The held-out loss was measured every {eval_every} steps and the best
checkpoint kept (step {chosen_step}), so the held-out perplexity below is slightly optimistic.

## Evaluation (held-out books, {n_eval} predicted tokens)
Mean token negative log-likelihood over non-overlapping {ctx}-token windows, computed in float32:

| model | perplexity |
| --- | --- |
| kjv-tiny | {ppl:.2f} |
| unigram baseline (training-split token frequencies, add-one smoothing) | {uni_ppl:.2f} |

## How it was made
```
{command}
```
transformers {transformers.__version__}, torch {torch.__version__}, tokenizers
{__import__('tokenizers').__version__}. Total script time {(time.time() - t_start) / 60:.1f} minutes.
"""
    if results:
        card += "\n## Greedy samples (transformers, float32, prompt in brackets)\n\n```\n"
        for r in results:
            card += f"[{r['prompt']}]{r['generated_text']}\n\n"
        card = card.rstrip("\n") + "\n```\n"
    with open(os.path.join(args.out, "README.md"), "w") as fh:
        fh.write(card)
    print(f"wrote {os.path.join(args.out, 'README.md')}; total {(time.time() - t_start) / 60:.1f} min", flush=True)
    print(f"RESULT held-out perplexity: model {ppl:.2f}, unigram {uni_ppl:.2f}", flush=True)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
