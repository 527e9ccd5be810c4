from deepseek_service.reading_order import Detection, group_rows, reading_order_text


def d(text: str, x1: float, y1: float, x2: float, y2: float) -> Detection:
    return Detection(text=text, box=(x1, y1, x2, y2))


def test_words_on_one_row_read_left_to_right_even_if_detected_out_of_order() -> None:
    detections = [d("world", 200, 12, 300, 40), d("hello", 10, 10, 100, 38), d("below", 10, 80, 100, 110)]
    assert reading_order_text(detections) == "hello world\nbelow"


def test_slightly_taller_neighbour_stays_on_the_row() -> None:
    rows = group_rows([d("big", 0, 0, 50, 60), d("small", 60, 20, 100, 45), d("next", 0, 70, 50, 90)])
    assert [[x.text for x in row] for row in rows] == [["big", "small"], ["next"]]


def test_empty() -> None:
    assert reading_order_text([]) == ""


def test_small_images_are_enlarged_to_the_target_long_side_at_most_4x() -> None:
    from deepseek_service.backends import upscale_factor

    assert upscale_factor(400, 200) == 2.0
    assert upscale_factor(100, 50) == 4.0  # would need 8x: capped
    assert upscale_factor(800, 10) == 1.0
    assert upscale_factor(1920, 1080) == 1.0
