from deepseek_service.backends import output_from_model_text
from deepseek_service.grounding import parse_grounding, strip_special_tokens

# Shapes of DeepSeek-OCR output as recorded from the model ("OCR this image" and
# "Convert the document to markdown" grounding prompts).
RECORDED_OCR = (
    "<|ref|>flying today means<|/ref|><|det|>[[448, 21, 781, 66]]<|/det|>\n"
    "<|ref|>vueling<|/ref|><|det|>[[799, 5, 999, 73]]<|/det|>\n"
    "<|ref|>GETAWAY, 1.000.000 SEATS FROM 30€<|/ref|><|det|>[[153, 141, 394, 421]]<|/det|>"
    "<｜end▁of▁sentence｜>"
)
RECORDED_MARKDOWN = (
    "<|ref|>title<|/ref|><|det|>[[100, 50, 900, 150]]<|/det|>\n# Big Summer Sale\n\n"
    "<|ref|>text<|/ref|><|det|>[[100, 200, 600, 260], [100, 270, 600, 330]]<|/det|>\nUp to 50% off\n"
    "<|ref|>image<|/ref|><|det|>[[0, 400, 999, 999]]<|/det|>\n"
)


def test_label_is_text_in_ocr_output_and_boxes_scale_to_pixels() -> None:
    text, blocks = parse_grounding(RECORDED_OCR, width=400, height=430)
    assert text.splitlines() == ["flying today means", "vueling", "GETAWAY, 1.000.000 SEATS FROM 30€"]
    assert [b.text for b in blocks] == ["flying today means", "vueling", "GETAWAY, 1.000.000 SEATS FROM 30€"]
    x1, y1, x2, y2 = blocks[0].box
    assert abs(x1 - 448 / 999 * 400) < 0.1 and abs(y1 - 21 / 999 * 430) < 0.1
    assert abs(x2 - 781 / 999 * 400) < 0.1 and abs(y2 - 66 / 999 * 430) < 0.1
    assert blocks[1].box[2] == 400.0  # 999 maps to the right edge


def test_markdown_output_takes_the_text_after_the_tag_and_keeps_every_box() -> None:
    text, blocks = parse_grounding(RECORDED_MARKDOWN, width=1000, height=500)
    assert "# Big Summer Sale" in text and "Up to 50% off" in text
    body = [b for b in blocks if b.text == "Up to 50% off"]
    assert len(body) == 2 and body[0].box != body[1].box
    # A picture region in layout output is not text.
    assert "image" not in text and all(b.text != "image" for b in blocks)
    assert len(blocks) == 3


def test_in_ocr_output_a_label_that_reads_image_is_still_text() -> None:
    text, blocks = parse_grounding("<|ref|>image<|/ref|><|det|>[[0, 0, 10, 10]]<|/det|>", 999, 999)
    assert text == "image" and len(blocks) == 1


def test_plain_output_without_tags_is_text_without_blocks() -> None:
    text, blocks = parse_grounding("  Free OCR result\nsecond line<｜end▁of▁sentence｜>", 100, 100)
    assert text == "Free OCR result\nsecond line"
    assert blocks == []


def test_malformed_boxes_are_dropped_not_fatal_and_coordinates_are_clamped() -> None:
    raw = "<|ref|>a<|/ref|><|det|>[[1, 2, 3]]<|/det|><|ref|>b<|/ref|><|det|>not a list<|/det|><|ref|>c<|/ref|><|det|>[[-5, 10, 1200, 20]]<|/det|>"
    text, blocks = parse_grounding(raw, 999, 999)
    assert text.splitlines() == ["a", "b", "c"]
    assert [b.text for b in blocks] == ["c"]
    assert blocks[0].box == (0.0, 10.0, 999.0, 20.0)


def test_swapped_corners_are_normalised() -> None:
    _text, blocks = parse_grounding("<|ref|>x<|/ref|><|det|>[[500, 600, 100, 200]]<|/det|>", 999, 999)
    assert blocks[0].box == (100.0, 200.0, 500.0, 600.0)


def test_strip_special_tokens() -> None:
    assert strip_special_tokens("abc<｜end▁of▁sentence｜>") == "abc"


def test_describe_task_returns_description_not_text() -> None:
    out = output_from_model_text("A red banner with a plane.", "describe", 10, 10)
    assert out.description == "A red banner with a plane." and out.text == "" and out.blocks == []


# The recorded model strings shared with the TypeScript parser (Ollama/OpenAI routes), so
# every route turns the same DeepSeek-OCR output into the same blocks.
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SHARED_CASES = Path(__file__).resolve().parents[3] / "test/fixtures/deepseek-grounding/cases.json"


def _shared_cases() -> list[dict]:  # type: ignore[type-arg]
    cases = json.loads(SHARED_CASES.read_text(encoding="utf-8"))
    assert isinstance(cases, list) and cases, f"{SHARED_CASES} has no cases"
    return cases


@pytest.mark.parametrize("case", _shared_cases(), ids=lambda case: case["name"])
def test_shared_recorded_case(case: dict) -> None:  # type: ignore[type-arg]
    _text, blocks = parse_grounding(case["raw"], case["width"], case["height"])
    got = [{"text": b.text, "box": list(b.box)} for b in blocks]
    expected = [{"text": b["text"], "box": [float(v) for v in b["box"]]} for b in case["expected_blocks"]]
    assert got == expected


def test_truncated_last_tag_keeps_a_closed_label_as_text_but_no_box() -> None:
    text, blocks = parse_grounding("<|ref|>A<|/ref|><|det|>[[0, 0, 9, 9]]<|/det|>\n<|ref|>SALE<|/ref|><|det|>[[1, 2", 999, 999)
    assert text.splitlines() == ["A", "SALE"] and [b.text for b in blocks] == ["A"]
    text, blocks = parse_grounding("<|ref|>A<|/ref|><|det|>[[0, 0, 9, 9]]<|/det|>\n<|ref|>SAL", 999, 999)
    assert text == "A" and len(blocks) == 1
