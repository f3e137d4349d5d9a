#!/usr/bin/env python3
"""Renders every chat template on every test conversation the way HF transformers does, for
tessera's chat-template golden test (tests/runtime/chat/).

Templates: the real ones in DIR/<name>/tokenizer_config.json for llama3, llama3_1, qwen3 and
gemma3 (bos/eos from the same file), and every TEMPLATES/*.jinja (bos "<s>", eos "</s>").
Each conversation is rendered with add_generation_prompt False and True, through
transformers' own renderer; a template that raises is recorded with the error message.

Runs offline: needs transformers (5.x) and jinja2, nothing else.

  tools/make_chat_golden.py --tokenizers DIR --conversations tests/data/chat/conversations.json \
      --templates tests/data/chat/templates --out tests/data/chat/golden.json

--emulate renders with plain jinja2 configured like transformers (for development where
transformers is not installed); its output is marked as such and is not a valid golden file.
"""
import argparse
import copy
import json
import pathlib
import sys

REAL_TEMPLATES = ["llama3", "llama3_1", "qwen3", "gemma3"]
OWN_BOS, OWN_EOS = "<s>", "</s>"


def token_text(config, key):
    """bos/eos as tessera's ChatTemplate::from_model_dir reads them: a string, {"content": ...} or ""."""
    value = config.get(key)
    if value is None:
        return ""
    if isinstance(value, dict):
        return value["content"]
    return value


def template_text(config, path):
    value = config.get("chat_template")
    if isinstance(value, list):
        value = next((t["template"] for t in value if t.get("name") == "default"), None)
    if not isinstance(value, str):
        sys.exit(f"{path}: no chat_template")
    return value


def make_emulated_renderer():
    """jinja2 set up as transformers' _compile_jinja_template does (own code, same settings)."""
    import datetime

    import jinja2
    from jinja2 import nodes
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        # Stands in for transformers' AssistantTracker: {% generation %} renders its body.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)

    def render(source, messages, add_generation_prompt, bos, eos, extra):
        variables = dict(extra)
        tools = variables.pop("tools", None)
        documents = variables.pop("documents", None)
        return env.from_string(source).render(
            messages=messages, tools=tools, documents=documents, add_generation_prompt=add_generation_prompt,
            bos_token=bos, eos_token=eos, **variables)

    return render, f"jinja2 {jinja2.__version__} (emulating transformers; NOT a golden reference)"


def make_transformers_renderer():
    import jinja2
    import transformers

    try:
        from transformers.utils.chat_template_utils import render_jinja_template
    except ImportError:
        render_jinja_template = None

    def render(source, messages, add_generation_prompt, bos, eos, extra):
        variables = dict(extra)
        tools = variables.pop("tools", None)
        documents = variables.pop("documents", None)
        if render_jinja_template is None:
            sys.exit("transformers.utils.chat_template_utils.render_jinja_template not found; need transformers >= 4.51")
        # The same call apply_chat_template makes, with bos/eos passed the way tessera passes them.
        rendered, _ = render_jinja_template(
            conversations=[messages], tools=tools, documents=documents, chat_template=source,
            add_generation_prompt=add_generation_prompt, bos_token=bos, eos_token=eos, **variables)
        return rendered[0]

    return render, f"transformers {transformers.__version__}, jinja2 {jinja2.__version__}"


def cross_check(tokenizer_dir, source, conversation, add_generation_prompt, expected):
    """Warns when apply_chat_template on the real tokenizer disagrees with the direct render."""
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
        extra = dict(conversation["extra"])
        got = tok.apply_chat_template(copy.deepcopy(conversation["messages"]), tokenize=False,
                                      add_generation_prompt=add_generation_prompt, chat_template=source, **extra)
        if isinstance(got, dict):
            return
        if got != expected:
            print(f"warning: apply_chat_template differs for {tokenizer_dir.name}/{conversation['name']}"
                  f"/{add_generation_prompt}:\n  {got!r}\n  {expected!r}", file=sys.stderr)
    except Exception as e:  # only a diagnostic; the golden comes from the direct render
        print(f"warning: apply_chat_template cross-check failed for {tokenizer_dir.name}: {e!r}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizers", required=True, type=pathlib.Path)
    ap.add_argument("--conversations", required=True, type=pathlib.Path)
    ap.add_argument("--templates", required=True, type=pathlib.Path)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--emulate", action="store_true", help="plain jinja2 instead of transformers (development only)")
    ap.add_argument("--no-cross-check", action="store_true", help="skip comparing with apply_chat_template")
    args = ap.parse_args()

    render, renderer = make_emulated_renderer() if args.emulate else make_transformers_renderer()
    # A renderer that fails on everything (say, an API change) must not yield a golden of errors.
    probe = render("{{ bos_token }}{% for m in messages %}{{ m.role }}{% endfor %}{{ add_generation_prompt }}{{ x }}",
                   [{"role": "user", "content": "hi"}], True, "<s>", "</s>", {"x": 1})
    if probe != "<s>userTrue1":
        sys.exit(f"renderer self-check failed: got {probe!r}")
    conversations = json.loads(args.conversations.read_text(encoding="utf-8"))

    templates = []  # (name, source, bos, eos, tokenizer dir or None)
    for name in REAL_TEMPLATES:
        path = args.tokenizers / name / "tokenizer_config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        templates.append((name, template_text(config, path), token_text(config, "bos_token"),
                          token_text(config, "eos_token"), args.tokenizers / name))
    for path in sorted(args.templates.glob("*.jinja")):
        templates.append((path.stem, path.read_text(encoding="utf-8"), OWN_BOS, OWN_EOS, None))

    cases = []
    for name, source, bos, eos, tokenizer_dir in templates:
        for conversation in conversations:
            for add_generation_prompt in (False, True):
                case = {"template": name, "conversation": conversation["name"],
                        "add_generation_prompt": add_generation_prompt}
                try:
                    case["rendered"] = render(source, copy.deepcopy(conversation["messages"]), add_generation_prompt,
                                              bos, eos, copy.deepcopy(conversation["extra"]))
                    if tokenizer_dir is not None and not args.emulate and not args.no_cross_check and bos:
                        cross_check(tokenizer_dir, source, conversation, add_generation_prompt, case["rendered"])
                except Exception as e:
                    case["error"] = str(e)
                    case["error_type"] = type(e).__name__
                cases.append(case)

    golden = {
        "generator": {"tool": "tools/make_chat_golden.py", "renderer": renderer},
        "templates": {name: {"bos_token": bos, "eos_token": eos, "source": "reference" if d else "file"}
                      for name, _, bos, eos, d in templates},
        "cases": cases,
    }
    args.out.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    errors = sum("error" in c for c in cases)
    print(f"wrote {len(cases)} cases ({errors} errors) to {args.out} with {renderer}")


if __name__ == "__main__":
    main()
