"""Ratio BoundingBox -> pixels: the article's formula, clipped, and never raising on odd boxes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rclsim.geometry import PixelBox, iou, to_pixels, to_ratio

ratios = st.floats(min_value=-3, max_value=3, allow_nan=False)
sizes = st.tuples(st.integers(1, 5000), st.integers(1, 5000))
boxes = st.fixed_dictionaries({"Width": ratios, "Height": ratios, "Left": ratios, "Top": ratios})


def test_reproduces_the_articles_pixels() -> None:
    # The article's car box on a 1024x683 image: int(W*Left), x_min + int(W*Width), same for y.
    car = {
        "Width": 0.5945600271224976,
        "Height": 0.5289499759674072,
        "Left": 0.37042999267578125,
        "Top": 0.29366999864578247,
    }
    box = to_pixels(car, (1024, 683))
    assert box == PixelBox(
        int(1024 * car["Left"]),
        int(683 * car["Top"]),
        int(1024 * car["Left"]) + int(1024 * car["Width"]),
        int(683 * car["Top"]) + int(683 * car["Height"]),
    )
    assert box.as_tuple() == (379, 200, 987, 561)


def test_width_comes_first_in_sizes() -> None:
    box = to_pixels({"Left": 0.5, "Top": 0.5, "Width": 0.5, "Height": 0.5}, (200, 100))
    assert box.as_tuple() == (100, 50, 200, 100)


@given(boxes, sizes)
def test_always_inside_the_image_with_no_negative_size(box: dict, size: tuple[int, int]) -> None:
    p = to_pixels(box, size)
    w, h = size
    assert 0 <= p.x_min <= p.x_max <= w
    assert 0 <= p.y_min <= p.y_max <= h
    assert p.width >= 0 and p.height >= 0


@given(st.data(), sizes)
def test_round_trip_within_a_pixel(data: st.DataObject, size: tuple[int, int]) -> None:
    w, h = size
    x0 = data.draw(st.integers(0, w))
    x1 = data.draw(st.integers(x0, w))
    y0 = data.draw(st.integers(0, h))
    y1 = data.draw(st.integers(y0, h))
    back = to_pixels(to_ratio(PixelBox(x0, y0, x1, y1), size), size)
    assert back == PixelBox(x0, y0, x1, y1)  # exact, which is within a pixel


def test_round_trip_on_a_box_a_plain_division_gets_wrong() -> None:
    # 7/157*157 == 6.999...: int() alone would give 6 and then 61 for the bottom edge.
    assert to_pixels(to_ratio(PixelBox(0, 7, 1, 63), (1, 157)), (1, 157)) == PixelBox(0, 7, 1, 63)


@given(boxes, sizes, st.floats(0, 1, allow_nan=False))
def test_moving_the_left_edge_right_never_moves_the_box_left(
    box: dict, size: tuple[int, int], shift: float
) -> None:
    moved = dict(box, Left=box["Left"] + shift)
    assert to_pixels(moved, size).x_min >= to_pixels(box, size).x_min


@given(boxes, sizes, st.floats(0, 1, allow_nan=False))
def test_widening_never_shrinks(box: dict, size: tuple[int, int], grow: float) -> None:
    wider = dict(box, Width=box["Width"] + grow)
    assert to_pixels(wider, size).x_max >= to_pixels(box, size).x_max


def test_degenerate_and_out_of_range_boxes_become_empty_not_errors() -> None:
    size = (640, 480)
    assert to_pixels({"Left": 2, "Top": 2, "Width": 0.5, "Height": 0.5}, size).is_empty
    assert to_pixels({"Left": -1, "Top": 0, "Width": 0.5, "Height": 0.5}, size).is_empty
    assert to_pixels({"Left": 0.2, "Top": 0.2, "Width": -0.1, "Height": 0.3}, size).is_empty
    assert to_pixels({"Left": 0.2, "Top": 0.2, "Width": 0, "Height": 0}, size).is_empty
    assert to_pixels({"Left": -0.1, "Top": -0.1, "Width": 1.5, "Height": 1.5}, size).as_tuple() == (
        0,
        0,
        640,
        480,
    )


@given(
    st.builds(PixelBox, st.integers(0, 50), st.integers(0, 50), st.integers(50, 100), st.integers(50, 100))
)
def test_iou_with_itself_is_one(box: PixelBox) -> None:
    assert iou(box, box) == (1.0 if not box.is_empty else 0.0)
