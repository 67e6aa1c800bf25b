"""A tiny random LLaVA (CLIP vision tower, Llama text model) with its processor, built locally: nothing downloaded.

Used by the hf adapter tests and by ``bench/gpu_check.py``; needs torch and transformers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

IMAGE_SIDE, PATCH = 28, 14
TOKENS_PER_IMAGE = (IMAGE_SIDE // PATCH) ** 2  # the "default" feature strategy drops CLIP's CLS token
SPECIAL_TOKENS = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
# Nonsense words only: whatever the random weights pick can never parse as an option letter or option text.
WORDS = ["blorp", "fizz", "quux", "wibble", "zork", "snark", "glim", "drab"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}:"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %} <image>{% else %} {{ part['text'] }}{% endif %}"
    "{% endfor %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def build_tiny_llava(folder: Path) -> Path:
    """Save a tiny random LLaVA (CLIP vision tower, Llama text model) with its processor into ``folder``."""
    import torch
    import transformers as untyped
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    transformers: Any = untyped  # its constructors are untyped

    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS + WORDS)}
    word_level = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    word_level.decoder = decoders.WordPiece()  # joins words with spaces
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=word_level, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        extra_special_tokens={"image_token": "<image>"},
    )
    # transformers 5 names the torchvision-free processor *Pil; older versions have only the plain one.
    image_processor_class = getattr(transformers, "CLIPImageProcessorPil", transformers.CLIPImageProcessor)
    image_processor = image_processor_class(
        size={"shortest_edge": IMAGE_SIDE}, crop_size={"height": IMAGE_SIDE, "width": IMAGE_SIDE}
    )
    processor = transformers.LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=PATCH, chat_template=CHAT_TEMPLATE,
        vision_feature_select_strategy="default", num_additional_image_tokens=1, image_token="<image>",
    )
    config = transformers.LlavaConfig(
        vision_config=transformers.CLIPVisionConfig(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            image_size=IMAGE_SIDE, patch_size=PATCH,
        ),
        text_config=transformers.LlamaConfig(
            vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=1024, pad_token_id=0, bos_token_id=2, eos_token_id=3,
        ),
        image_token_index=vocab["<image>"], vision_feature_layer=-1, vision_feature_select_strategy="default",
    )
    torch.manual_seed(0)
    transformers.LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
