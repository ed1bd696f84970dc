"""Tiny randomly initialised models for tests: open_clip, transformers VLMs and a diffusers SD pipeline.

Recipes follow shared/reference/offline-models.md sections 2-4 (measured on the project's machines).
Everything is built from configs, offline, seeded, and saved in the format the public loaders read
(`open_clip` `local-dir:`, `AutoProcessor`/`AutoModelForImageTextToText`, `StableDiffusionPipeline`).
Each folder is built in a temporary sibling and renamed into place, so a folder that exists is complete.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

VLM_FAMILIES = ("llava", "qwen2_vl", "idefics3", "smolvlm")

TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    # vocab_size must stay 49408: the bundled CLIP tokenizer emits ids up to 49407.
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

_COMPLETE_MARKER = ".vlmcult-tiny-complete"
_SEED = 0

_TOKENIZER_CORPUS = [
    "Describe the image.",
    "What is in this picture?",
    "A photo of a cat sitting on a mat.",
    "A red square on a blue background.",
    "user: hello assistant: hi there",
    "The quick brown fox jumps over the lazy dog.",
    "Answer briefly: how many objects are there?",
    "system: You are a helpful assistant. Answer with the letter of the correct option.",
    "A. B. C. D. Options: Which country is this dish from?",
] * 20


def _build_once(out_dir: str | os.PathLike[str], build: Callable[[Path], None]) -> Path:
    """Run `build(tmp)` into a temporary sibling and rename it to `out_dir`; skip if already complete."""
    target = Path(out_dir)
    if (target / _COMPLETE_MARKER).is_file():
        return target
    if target.exists():  # a half-written folder from an interrupted build
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        (tmp / _COMPLETE_MARKER).write_text("ok\n")
        try:
            tmp.rename(target)
        except OSError:
            # another process finished the same folder first
            if not (target / _COMPLETE_MARKER).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Silence transformers' one-shard "Writing model shards" bar while saving a tiny model."""
    from transformers.utils import logging as transformers_logging

    were_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if were_on:
            transformers_logging.enable_progress_bar()


def _seed() -> None:
    import torch

    torch.manual_seed(_SEED)


# ---------------------------------------------------------------------------------------------- open_clip


def build_tiny_clip(out_dir: str | os.PathLike[str]) -> Path:
    """A tiny random open_clip model as a `local-dir:` folder (open_clip_config.json + open_clip_pytorch_model.bin)."""

    def build(folder: Path) -> None:
        import open_clip
        import torch

        _seed()
        model = open_clip.CLIP(**TINY_CLIP_CONFIG)
        model.eval()
        with open(folder / "open_clip_config.json", "w") as f:
            json.dump({"model_cfg": TINY_CLIP_CONFIG, "preprocess_cfg": {}}, f, indent=2)
        torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")

    return _build_once(out_dir, build)


# ---------------------------------------------------------------------------------------------- transformers


def _build_tokenizer(extra_special: list[str], vocab_size: int, chat_template: str) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>", "<unk>", *extra_special],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte stays encodable
        show_progress=False,
    )
    tokenizer.train_from_iterator(_TOKENIZER_CORPUS, trainer)
    # padding_side must be a constructor kwarg: set afterwards it is not saved (offline-models.md 3.5).
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        padding_side="left",
    )
    fast.chat_template = chat_template
    return fast


def _chat_template(image_placeholder: str) -> str:
    """A minimal chat template: 'role: content\\n' per message, images as the family's placeholder."""
    return (
        "{% for message in messages %}{{ message['role'] }}: "
        "{% if message['content'] is string %}{{ message['content'] }}"
        "{% else %}{% for c in message['content'] %}"
        "{% if c['type'] == 'image' %}" + image_placeholder + "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
        "{% endfor %}{% endif %}{{ '\\n' }}{% endfor %}"  # a literal newline would be eaten by trim_blocks
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )


def _llama_text_config(tokenizer: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _llava() -> tuple[Any, Any]:
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    template = _chat_template("<image>")
    tokenizer = _build_tokenizer(["<image>"], 400, template)
    image_size, patch = 32, 8
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        ),
        tokenizer=tokenizer,
        patch_size=patch,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=template,
        image_token="<image>",
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=patch,
            projection_dim=32,
        ),
        text_config=_llama_text_config(tokenizer),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    return LlavaForConditionalGeneration(config), processor


def _qwen2_vl() -> tuple[Any, Any]:
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    special = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    template = _chat_template("<|vision_start|><|image_pad|><|vision_end|>")
    tokenizer = _build_tokenizer(special, 400, template)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special}
    patch, merge = 8, 2
    size = {"shortest_edge": 16 * 16, "longest_edge": 64 * 64}  # min / max pixels
    image_processor = Qwen2VLImageProcessor(patch_size=patch, merge_size=merge, temporal_patch_size=2, size=size)
    video_processor = Qwen2VLVideoProcessor(patch_size=patch, merge_size=merge, temporal_patch_size=2, size=size)
    text_config = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        # mrope_section sums to head_dim / 2 = 8
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = Qwen2VLConfig(
        vision_config=dict(
            depth=2,
            embed_dim=32,
            hidden_size=64,
            num_heads=2,
            mlp_ratio=2,
            patch_size=patch,
            spatial_merge_size=merge,
            temporal_patch_size=2,
        ),
        text_config=text_config,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    processor = Qwen2VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor, chat_template=template
    )
    return Qwen2VLForConditionalGeneration(config), processor


_IDEFICS_SPECIAL = ["<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"] + [
    f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)
]


def _idefics3_like(smolvlm: bool) -> tuple[Any, Any]:
    import transformers as tf

    template = _chat_template("<image>")
    tokenizer = _build_tokenizer(_IDEFICS_SPECIAL, 450, template)
    image_size, patch, scale = 32, 8, 2
    seq_len = (image_size // patch) ** 2 // scale**2  # 4 <image> tokens per image
    if smolvlm:
        image_processor = tf.SmolVLMImageProcessor(
            do_image_splitting=False,
            size={"longest_edge": image_size},
            max_image_size={"longest_edge": image_size},
        )
        processor = tf.SmolVLMProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=tf.SmolVLMVideoProcessor(
                size={"longest_edge": image_size}, max_image_size={"longest_edge": image_size}
            ),
            image_seq_len=seq_len,
            chat_template=template,
        )
        config_cls, vision_cls, model_cls = tf.SmolVLMConfig, tf.SmolVLMVisionConfig, tf.SmolVLMForConditionalGeneration
    else:
        image_processor = tf.Idefics3ImageProcessor(
            do_image_splitting=False,
            size={"longest_edge": image_size},
            max_image_size={"longest_edge": image_size},
        )
        processor = tf.Idefics3Processor(
            image_processor=image_processor, tokenizer=tokenizer, image_seq_len=seq_len, chat_template=template
        )
        config_cls, vision_cls, model_cls = (
            tf.Idefics3Config,
            tf.Idefics3VisionConfig,
            tf.Idefics3ForConditionalGeneration,
        )
    config = config_cls(
        vision_config=vision_cls(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=patch,
        ),
        text_config=_llama_text_config(tokenizer),
        scale_factor=scale,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    return model_cls(config), processor


_VLM_BUILDERS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "llava": _llava,
    "qwen2_vl": _qwen2_vl,
    "idefics3": lambda: _idefics3_like(smolvlm=False),
    "smolvlm": lambda: _idefics3_like(smolvlm=True),
}


def build_tiny_vlm(out_dir: str | os.PathLike[str], family: str = "llava") -> Path:
    """A tiny random transformers VLM (model + processor) saved with save_pretrained.

    `family` is one of VLM_FAMILIES. The tokenizer pads on the left (set at construction, so it is saved).
    """
    if family not in _VLM_BUILDERS:
        raise ValueError(f"unknown tiny VLM family {family!r}; choose from {', '.join(VLM_FAMILIES)}")

    def build(folder: Path) -> None:
        _seed()
        model, processor = _VLM_BUILDERS[family]()
        model.eval()
        tokenizer = processor.tokenizer
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.do_sample = False
        with _no_progress_bars():
            model.save_pretrained(folder)
        processor.save_pretrained(folder)

    return _build_once(out_dir, build)


# ---------------------------------------------------------------------------------------------- diffusers


def _bytes_to_unicode() -> list[str]:
    """The CLIP / GPT-2 byte -> printable character table, in CLIP's vocab order."""
    byte_values = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = byte_values[:]
    extra = 0
    for b in range(256):
        if b not in byte_values:
            byte_values.append(b)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def _write_full_clip_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """Rebuild the real 49,408-token CLIP BPE vocab.json / merges.txt from the file open_clip ships.

    Same construction as open_clip.tokenizer.SimpleTokenizer (open_clip_torch 3.3.0, src/open_clip/tokenizer.py),
    so ids equal the real CLIP ids ("a cat" -> [49406, 320, 2368, 49407]).
    """
    import open_clip.tokenizer as open_clip_tokenizer

    with gzip.open(open_clip_tokenizer.default_bpe()) as f:
        lines = f.read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    chars = _bytes_to_unicode()
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    vocab_path.write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    merges_path.write_text("#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in merges))
    return vocab_path, merges_path


def build_tiny_sd(out_dir: str | os.PathLike[str]) -> Path:
    """A tiny random StableDiffusionPipeline folder (64x64 images) with the real CLIP vocabulary."""

    def build(folder: Path) -> None:
        from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
        from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

        _seed()
        with tempfile.TemporaryDirectory() as token_dir:
            vocab_path, merges_path = _write_full_clip_tokenizer_files(Path(token_dir))
            tokenizer = CLIPTokenizer(str(vocab_path), str(merges_path), model_max_length=77)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=32,
                intermediate_size=37,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=77,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        )
        unet = UNet2DConditionModel(
            sample_size=32,
            in_channels=4,
            out_channels=4,
            layers_per_block=1,
            block_out_channels=(32, 64),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            norm_num_groups=32,
            attention_head_dim=8,
        )
        # two blocks -> vae_scale_factor 2: 64 px images <-> 32x32 latents
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            latent_channels=4,
            block_out_channels=(32, 64),
            layers_per_block=1,
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
            norm_num_groups=32,
            sample_size=64,
        )
        scheduler = DDIMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            clip_sample=False,
            set_alpha_to_one=False,
            steps_offset=1,
        )
        pipe = StableDiffusionPipeline(
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=unet,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
        with _no_progress_bars():
            pipe.save_pretrained(folder)

    return _build_once(out_dir, build)


def make_tiny_models(out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Build (or reuse) out_dir/clip, out_dir/vlm (LLaVA) and out_dir/sd; return {"clip", "vlm", "sd"} -> folder."""
    root = Path(out_dir)
    return {
        "clip": build_tiny_clip(root / "clip"),
        "vlm": build_tiny_vlm(root / "vlm", "llava"),
        "sd": build_tiny_sd(root / "sd"),
    }


def main() -> None:
    """`python -m vlmcult.testing.tiny OUT_DIR`: the `make tiny-models` entry point."""
    import sys

    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tiny-models"
    for name, folder in make_tiny_models(out_dir).items():
        print(f"{name}: {folder}")


if __name__ == "__main__":
    main()
