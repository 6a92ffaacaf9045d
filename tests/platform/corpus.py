"""Positive and negative ingest corpora, made by real tools or byte-for-byte layouts.

Each builder writes one file into a folder and returns its path. Positives are
named by the detector family that must find them (``POSITIVES``); negatives
(``NEGATIVES``) are ordinary content that must never come out ``suspected``.
Shared by the detector tests, the precision test and ``bench/bench_ingest.py``.
"""

from __future__ import annotations

import datetime
import gzip
import importlib.util
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from aigc_label import LabelRequest, api

ROOT = Path(__file__).resolve().parents[2]
PRODUCER = "001191440300708461136T1XGW3"
PLATFORM = "001191310115MA1K3P4T7P20001"
"""A valid PG-20252A code (made-up USCC with its check character) for the platform."""

SHIPPED_FONT = ROOT / "src" / "aigc_label" / "explicit" / "fonts" / "NotoSansCJKsc-Bold-subset.otf"
SYSTEM_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)

A1111_PARAMETERS = (
    "a watercolor painting of a lighthouse at dawn, soft light\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.9.4"
)
"""The text AUTOMATIC1111 stores under ``parameters`` (its infotext layout)."""

FORGE_PARAMETERS = A1111_PARAMETERS.replace("v1.9.4", "f0.0.17v1.8.0rc-latest-276-g29be1da7")

COMFY_PROMPT = {
    "3": {
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
        "class_type": "KSampler",
    },
    "4": {
        "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"},
        "class_type": "CheckpointLoaderSimple",
    },
    "5": {
        "inputs": {"width": 512, "height": 512, "batch_size": 1},
        "class_type": "EmptyLatentImage",
    },
    "6": {"inputs": {"text": "a bottle", "clip": ["4", 1]}, "class_type": "CLIPTextEncode"},
    "7": {"inputs": {"text": "text, watermark", "clip": ["4", 1]}, "class_type": "CLIPTextEncode"},
    "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "class_type": "VAEDecode"},
    "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "class_type": "SaveImage"},
}
"""ComfyUI's default text-to-image graph in API form (what SaveImage stores as ``prompt``)."""

COMFY_WORKFLOW = {
    "last_node_id": 9,
    "last_link_id": 9,
    "nodes": [
        {"id": 3, "type": "KSampler", "pos": [863, 186], "size": [315, 262], "order": 4},
        {"id": 9, "type": "SaveImage", "pos": [1451, 189], "size": [210, 270], "order": 6},
    ],
    "links": [[1, 4, 0, 3, 0, "MODEL"]],
    "groups": [],
    "config": {},
    "extra": {},
    "version": 0.4,
}


def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """A CJK font: the project's shipped subset, else a system Noto/WenQuanYi."""
    for path in (SHIPPED_FONT, *SYSTEM_FONTS):
        if path.exists():
            return ImageFont.truetype(str(path), size)
    raise FileNotFoundError("no CJK font (fonts-noto-cjk) available")


def have_cjk_font() -> bool:
    return any(p.exists() for p in (SHIPPED_FONT, *SYSTEM_FONTS))


def photo(w: int = 640, h: int = 480, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients and blobs (drawn at 1/4 size) plus sensor noise."""
    rng = np.random.default_rng(seed)
    sw, sh = max(8, w // 4), max(8, h // 4)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    base = np.stack(
        [
            128 + 90 * np.sin(x / (sw / 3.0) + seed),
            128 + 90 * np.cos(y / (sh / 2.5) + seed / 2),
            128 + 60 * np.sin((x + y) / (sw / 4.0)),
        ],
        axis=-1,
    )
    for _ in range(5):
        cx, cy, r = rng.uniform(0, sw), rng.uniform(0, sh), rng.uniform(sw / 30, sw / 4)
        mask = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        base = base * (1 - mask) + rng.uniform(0, 255, 3) * mask
    small = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    smooth = np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=np.int16)
    noisy = smooth + rng.integers(-6, 7, smooth.shape, dtype=np.int16)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _png(d: Path, name: str, im: Image.Image, texts: dict[str, str]) -> Path:
    info = PngInfo()
    for k, v in texts.items():
        info.add_text(k, v)  # as A1111/ComfyUI/InvokeAI/Fooocus: tEXt, iTXt if not Latin-1
    path = d / name
    im.save(path, pnginfo=info)
    return path


def _jpeg_exif(
    d: Path, name: str, im: Image.Image, ifd0: dict[int, str], user_comment: bytes | None = None
) -> Path:
    exif = Image.Exif()
    for tag, value in ifd0.items():
        exif[tag] = value
    if user_comment is not None:
        exif.get_ifd(0x8769)[0x9286] = user_comment
    path = d / name
    im.save(path, quality=92, exif=exif)
    return path


# --- positives ------------------------------------------------------------------

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def iptc_jpeg(path: Path, value: str = TRAINED) -> Path:
    """A JPEG whose XMP exiftool gave Iptc4xmpExt:DigitalSourceType."""
    photo(128, 96).save(path, quality=90)
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", f"-XMP-iptcExt:DigitalSourceType={value}", path],
        check=True,
    )
    return path


def _signer() -> Any:
    """An ES256 signer on a throwaway CA -> end-entity chain (c2pa rejects self-signed leaves)."""
    c2pa = pytest.importorskip("c2pa")
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> Any:
        org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aigc-label tests")
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), org])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, ee_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )

    def cert(subject: str, key: Any, ca: bool) -> Any:
        b = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name("test CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        else:
            usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
            eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION])
            ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
            for ext in (eku, ski, aki):
                b = b.add_extension(ext, critical=False)
        return b.add_extension(usage, critical=True).sign(ca_key, hashes.SHA256())

    pem = serialization.Encoding.PEM
    chain = cert("signer", ee_key, False).public_bytes(pem) + cert(
        "test CA", ca_key, True
    ).public_bytes(pem)
    key = ee_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return c2pa, c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)
    )


def c2pa_jpeg(path: Path, source_type: str = TRAINED) -> Path:
    """A JPEG with a C2PA manifest signed by c2pa-python (needs c2pa, cryptography)."""
    c2pa, signer = _signer()
    manifest = {
        "claim_generator_info": [{"name": "aigc-label-test", "version": "1"}],
        "title": path.name,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source_type}]},
            }
        ],
    }
    src = io.BytesIO()
    photo(160, 120).save(src, "JPEG", quality=90)
    src.seek(0)
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", src, out)
    path.write_bytes(out.getvalue())
    return path


def labeled_png(d: Path) -> Path:
    src = d / "_plain_for_label.png"
    photo(320, 240, 1).save(src)
    out = d / "labeled.png"
    api.label_file(src, out, LabelRequest(producer=PRODUCER, produce_id="gen-0001"))
    src.unlink()
    return out


def a1111_png(d: Path) -> Path:
    return _png(d, "a1111.png", photo(320, 320, 2), {"parameters": A1111_PARAMETERS})


def forge_png(d: Path) -> Path:
    return _png(d, "forge.png", photo(320, 320, 3), {"parameters": FORGE_PARAMETERS})


def a1111_jpeg(d: Path) -> Path:
    """A1111's JPEG/WebP path: piexif UserComment, 'UNICODE\\0' + UTF-16BE."""
    comment = b"UNICODE\0" + A1111_PARAMETERS.encode("utf-16-be")
    return _jpeg_exif(d, "a1111.jpg", photo(320, 320, 4), {}, comment)


def comfyui_png(d: Path) -> Path:
    texts = {"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(COMFY_WORKFLOW)}
    return _png(d, "comfyui.png", photo(320, 320, 5), texts)


def comfyui_webp(d: Path) -> Path:
    """ComfyUI SaveAnimatedWEBP: EXIF Make = 'workflow:' + JSON, Model = 'prompt:' + JSON."""
    exif = Image.Exif()
    exif[0x010F] = "workflow:" + json.dumps(COMFY_WORKFLOW)
    exif[0x0110] = "prompt:" + json.dumps(COMFY_PROMPT)
    path = d / "comfyui.webp"
    photo(320, 320, 6).save(path, exif=exif, quality=90)
    return path


def invokeai_png(d: Path) -> Path:
    meta = {
        "generation_mode": "txt2img",
        "positive_prompt": "a fox in the snow",
        "model": {"name": "stable-diffusion-v1-5", "base": "sd-1"},
        "steps": 30,
        "app_version": "4.2.0",
    }
    return _png(d, "invokeai.png", photo(320, 320, 7), {"invokeai_metadata": json.dumps(meta)})


def novelai_png(d: Path) -> Path:
    comment = {
        "prompt": "1girl, cherry blossoms",
        "steps": 28,
        "height": 320,
        "width": 320,
        "scale": 5.0,
        "seed": 42,
        "sampler": "k_euler_ancestral",
        "n_samples": 1,
        "uc": "lowres, bad anatomy",
        "request_type": "PromptGenerateRequest",
    }
    texts = {
        "Title": "NovelAI generated image",
        "Description": "1girl, cherry blossoms",
        "Software": "NovelAI",
        "Source": "NovelAI Diffusion V4.5 4BDE2A90",
        "Generation time": "2.1",
        "Comment": json.dumps(comment),
    }
    return _png(d, "novelai.png", photo(320, 320, 8), texts)


def inject_stealth(
    im: Image.Image, payload: bytes, magic: bytes = b"stealth_pngcomp"
) -> Image.Image:
    """NovelAI's LSBInjector layout: alpha = 0xFF, then magic + 32-bit bit count + payload in
    the alpha LSBs, column by column (transpose), MSB first."""
    rgba = np.array(im.convert("RGBA"))
    buf = magic + (len(payload) * 8).to_bytes(4, "big") + payload
    bits = np.unpackbits(np.frombuffer(buf, dtype=np.uint8))
    alpha = rgba[..., 3].T.copy()
    flat = alpha.reshape(-1)
    flat[:] = 0xFF
    flat[: bits.size] = 0xFE | bits
    rgba[..., 3] = flat.reshape(alpha.shape).T
    return Image.fromarray(rgba)


def novelai_stealth_png(d: Path) -> Path:
    meta = {"Software": "NovelAI", "Comment": json.dumps({"steps": 28, "uc": "lowres"})}
    payload = gzip.compress(json.dumps(meta).encode())
    path = d / "novelai_stealth.png"
    inject_stealth(photo(320, 320, 9), payload).save(path)
    return path


def fooocus_png(d: Path) -> Path:
    params = {
        "Prompt": "a red car",
        "Negative Prompt": "",
        "Fooocus V2 Expansion": "a red car, highly detailed",
        "Styles": "['Fooocus V2']",
        "Performance": "Speed",
        "Steps": 30,
        "Base Model": "juggernautXL_v8Rundiffusion.safetensors",
        "Version": "Fooocus v2.5.5",
    }
    texts = {"parameters": json.dumps(params), "fooocus_scheme": "fooocus"}
    return _png(d, "fooocus.png", photo(320, 320, 10), texts)


def swarmui_png(d: Path) -> Path:
    params = {
        "sui_image_params": {"prompt": "a boat", "model": "Flux/flux1-dev", "seed": 1, "steps": 20}
    }
    return _png(d, "swarmui.png", photo(320, 320, 11), {"parameters": json.dumps(params)})


def flux_jpeg(d: Path) -> Path:
    ifd0 = {
        0x010F: "Black Forest Labs",
        0x0131: "AI generated;txt2img;flux",
        0x010E: "a foggy forest",
    }
    return _jpeg_exif(d, "flux.jpg", photo(320, 320, 12), ifd0)


def midjourney_png(d: Path) -> Path:
    texts = {
        "Author": "someone",
        "Description": "a city at night --ar 4:3 --v 6.1 "
        "Job ID: 0c6cd3c6-6a1a-4d25-ae36-6f7b5f5d3b4e",
        "Creation Time": "Tue, 01 Jul 2025 08:00:00 GMT",
    }
    return _png(d, "midjourney.png", photo(320, 240, 13), texts)


Arg = str | Path | list[str]


def _argv(args: tuple[Arg, ...]) -> list[str]:
    """Command arguments: strings are split on spaces; paths and lists are kept whole."""
    out: list[str] = []
    for a in args:
        out.extend(a.split() if isinstance(a, str) else a if isinstance(a, list) else [str(a)])
    return out


def _ffmpeg(*args: Arg) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *_argv(args)], check=True)


def suno_mp3(d: Path) -> Path:
    path = d / "suno.mp3"
    comment = "comment=made with suno studio; created=2025-06-01T10:00:00Z; id=6c1b2f0e"
    args = "-f lavfi -i sine=frequency=330:duration=2 -c:a libmp3lame -b:a 64k"
    _ffmpeg(args, "-metadata title=Ocean", ["-metadata", comment], path)
    return path


def imwatermark_encoder() -> Any:
    """The real ``invisible-watermark`` dwtDct embedder, loaded without its torch import.

    ``imwatermark/__init__`` imports rivaGan (torch); ``maxDct.py`` (the dwtDct
    algorithm) needs only numpy, cv2 and pywt, so it is loaded by file path.
    """
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "maxDct.py"
    mod_spec = importlib.util.spec_from_file_location("_imwatermark_maxdct", path)
    if mod_spec is None or mod_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except ImportError:
        return None
    return module.EmbedMaxDct


def _watermark(d: Path, name: str, bits: list[int], swap: bool = False) -> Path:
    import cv2

    embed = imwatermark_encoder()
    # Texture matters: the encoder loses bits where 4x4 LL blocks are flat (as in real
    # photos' skies); generated images are textured, so sensor-like noise is added.
    smooth = np.asarray(photo(512, 512, 150)).astype(np.int16)
    noise = np.random.default_rng(len(bits)).normal(0, 8, smooth.shape)
    rgb = np.clip(smooth + noise, 0, 255).astype(np.uint8)
    # SD scripts: RGB -> BGR -> encode -> back; diffusers (swap) hands RGB in as is.
    bgr = rgb.copy() if swap else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    out = embed(bits, wmLen=len(bits)).encode(bgr)
    rgb_out = out if swap else cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    path = d / name
    Image.fromarray(rgb_out).save(path)
    return path


def sd_watermark_png(d: Path) -> Path:
    bits = [int(b) for b in np.unpackbits(np.frombuffer(b"StableDiffusionV1", dtype=np.uint8))]
    return _watermark(d, "sd_watermark.png", bits)


def sdxl_watermark_png(d: Path) -> Path:
    bits = [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]]
    return _watermark(d, "sdxl_watermark.png", bits, swap=True)


def ocr_label_png(d: Path) -> Path:
    im = photo(800, 600, 20)
    draw = ImageDraw.Draw(im)
    font = cjk_font(40)  # glyph box ~7% of the 600 px side
    draw.rectangle((10, 535, 190, 590), fill=(0, 0, 0))
    draw.text((20, 538), "AI生成", font=font, fill=(255, 255, 255))
    path = d / "ocr_label.png"
    im.save(path)
    return path


def ocr_label_mkv(d: Path) -> Path:
    frame = photo(640, 360, 21)
    draw = ImageDraw.Draw(frame)
    draw.rectangle((8, 300, 260, 352), fill=(0, 0, 0))
    draw.text((16, 302), "人工智能生成", font=cjk_font(36), fill=(255, 255, 255))
    still = d / "_frame.png"
    frame.save(still)
    path = d / "ocr_label.mkv"
    _ffmpeg("-loop 1 -i", still, "-t 3 -r 10 -c:v libx264 -pix_fmt yuv420p", path)
    still.unlink()
    return path


def text_label_txt(d: Path) -> Path:
    path = d / "text_label.txt"
    path.write_text(
        "春天来了，公园里的花都开了。\n人们在湖边散步。\n\n（本内容由人工智能生成）\n", "utf-8"
    )
    return path


def _sox(*args: Arg) -> None:
    subprocess.run(["sox", *_argv(args)], check=True, capture_output=True)


def morse_wav(d: Path) -> Path:
    """The rhythm ".- .." (800 Hz, 120 ms unit) built by sox, then 2 s of sox 'music'."""
    rate = "16000"
    parts = []
    units = [1, 1, 3, 3, 1, 1, 1, 4]  # tone, gap, tone, gap... in 120 ms units
    for i, length in enumerate(units):
        p = d / f"_m{i}.wav"
        secs = f"{0.12 * length:.2f}"
        if i % 2 == 0:
            _sox(f"-n -r {rate} -b 16 -c 1", p, f"synth {secs} sine 800 vol 0.5")
        else:
            _sox(f"-n -r {rate} -b 16 -c 1", p, f"trim 0 {secs}")
        parts.append(p)
    music = d / "_music.wav"
    _sox(f"-n -r {rate} -b 16 -c 1", music, "synth 2 pluck C4 vol 0.4")
    path = d / "morse.wav"
    _sox(*parts, music, path)
    for p in [*parts, music]:
        p.unlink()
    return path


def iptc_positive(d: Path) -> Path:
    return iptc_jpeg(d / "iptc.jpg")


def c2pa_positive(d: Path) -> Path:
    return c2pa_jpeg(d / "c2pa.jpg")


POSITIVES: dict[str, list[Callable[[Path], Path]]] = {
    "label": [labeled_png],
    "iptc": [iptc_positive],
    "c2pa": [c2pa_positive],
    "generator": [
        a1111_png, forge_png, a1111_jpeg, comfyui_png, comfyui_webp, invokeai_png, novelai_png,
        fooocus_png, swarmui_png, flux_jpeg, midjourney_png, suno_mp3,
    ],
    "stealth": [novelai_stealth_png],
    "watermark": [sd_watermark_png, sdxl_watermark_png],
    "phrases": [text_label_txt],
    "ocr": [ocr_label_png, ocr_label_mkv],
    "morse": [morse_wav],
}  # fmt: skip
"""Positive builders per detector family that must find them."""


def have_tools() -> str | None:
    """None when every external tool the corpus needs is installed, else what is missing."""
    missing = [t for t in ("ffmpeg", "sox", "espeak-ng") if shutil.which(t) is None]
    if not have_cjk_font():
        missing.append("a CJK font")
    return ", ".join(missing) or None


def have_c2pa() -> bool:
    return all(importlib.util.find_spec(m) for m in ("c2pa", "cryptography"))


def build_positives(d: Path, families: tuple[str, ...] | None = None) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for family, builders in POSITIVES.items():
        if families is not None and family not in families:
            continue
        if family == "watermark" and imwatermark_encoder() is None:
            continue
        if family == "iptc" and shutil.which("exiftool") is None:
            continue
        if family == "c2pa" and not have_c2pa():
            continue
        out[family] = [b(d) for b in builders]
    return out


def image_bytes(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()
