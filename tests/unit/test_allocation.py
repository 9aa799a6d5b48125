from conference.allocation import Want, allocate, cost_kbps, next_step, presentation_ladder
from conference.layout import (
    CHAIR_LAYERS,
    FULL,
    MEDIUM,
    PARTICIPANT_LAYERS,
    SCREEN,
    SCREEN_KEYFRAMES,
    SCREEN_LAYER,
    SMALL,
)

CHAIR = Want("chair-video", CHAIR_LAYERS)
FLOOR = Want("floor-video", PARTICIPANT_LAYERS)
VOICES = 80.0  # the chair's and the floor holder's


def test_voices_first_then_the_chair_then_the_floor_holder() -> None:
    assert allocate(100, VOICES, [CHAIR, FLOOR]) == {"chair-video": None, "floor-video": None}  # audio only
    assert allocate(250, VOICES, [CHAIR, FLOOR]) == {"chair-video": SMALL, "floor-video": None}
    assert allocate(700, VOICES, [CHAIR, FLOOR]) == {"chair-video": MEDIUM, "floor-video": SMALL}
    assert allocate(1000, VOICES, [CHAIR, FLOOR]) == {"chair-video": MEDIUM, "floor-video": FULL}
    assert allocate(1300, VOICES, [CHAIR, FLOOR]) == {"chair-video": FULL, "floor-video": None}  # the chair first
    assert allocate(1700, VOICES, [CHAIR, FLOOR]) == {"chair-video": FULL, "floor-video": FULL}


def test_each_next_step_is_one_size_of_one_picture() -> None:
    budget, seen = 100.0, []
    while (step := next_step(budget, VOICES, [CHAIR, FLOOR])) is not None:
        assert step > cost_kbps(allocate(budget, VOICES, [CHAIR, FLOOR]), VOICES, [CHAIR, FLOOR])
        budget = step
        seen.append(tuple(allocate(budget, VOICES, [CHAIR, FLOOR]).values()))
    assert seen == [(SMALL, None), (SMALL, SMALL), (MEDIUM, None), (MEDIUM, SMALL), (MEDIUM, FULL), (FULL, None),
                    (FULL, SMALL), (FULL, FULL)]  # fmt: skip


def test_a_publisher_with_fewer_sizes_offers_only_those() -> None:
    only_full = Want("chair-video", CHAIR_LAYERS[-1:])
    assert allocate(700, 40, [only_full]) == {"chair-video": None}
    assert next_step(700, 40, [only_full]) == 1240


def test_a_presentation_comes_before_the_pictures_whole_or_as_its_key_frames_alone() -> None:
    shown = Want("presentation", presentation_ladder([SCREEN_LAYER]))
    wants = [shown, CHAIR, FLOOR]
    assert allocate(150, VOICES, wants) == {"presentation": None, "chair-video": None, "floor-video": None}
    # a poor line: the voices and the slides' key frames; no picture
    assert allocate(250, VOICES, wants) == {"presentation": SCREEN_KEYFRAMES, "chair-video": None, "floor-video": None}
    # a weak line keeps the presentation whole before the chair's picture
    assert allocate(700, VOICES, wants) == {"presentation": SCREEN, "chair-video": None, "floor-video": None}
    assert allocate(800, VOICES, wants) == {"presentation": SCREEN, "chair-video": SMALL, "floor-video": None}
    assert allocate(1300, VOICES, wants) == {"presentation": SCREEN, "chair-video": MEDIUM, "floor-video": SMALL}
    assert allocate(2200, VOICES, wants) == {"presentation": SCREEN, "chair-video": FULL, "floor-video": FULL}
    assert presentation_ladder([]) == ()  # nobody presents: nothing planned, nothing spent


def test_what_a_subscriber_gets_is_kept_through_a_small_dip_and_given_up_below_it() -> None:
    small = cost_kbps({"chair-video": SMALL}, VOICES, [CHAIR])
    held = allocate(small, VOICES, [CHAIR])
    assert held == {"chair-video": SMALL}
    assert allocate(small * 0.95, VOICES, [CHAIR]) == {"chair-video": None}  # a new subscriber gets what fits
    assert allocate(small * 0.95, VOICES, [CHAIR], held) == held  # one that has it keeps it through a dip
    assert allocate(small * 0.8, VOICES, [CHAIR], held) == {"chair-video": None}  # not through a fall
    # a size its publisher no longer sends is not kept, and a rise is taken at once
    assert allocate(small * 0.95, VOICES, [Want("chair-video", CHAIR_LAYERS[1:])], held) == {"chair-video": None}
    assert allocate(700, VOICES, [CHAIR], held) == {"chair-video": MEDIUM}


def test_a_smaller_size_is_taken_at_once() -> None:
    medium = allocate(700, VOICES, [CHAIR])
    assert medium == {"chair-video": MEDIUM}
    dipped = cost_kbps(medium, VOICES, [CHAIR]) * 0.95
    assert allocate(dipped, VOICES, [CHAIR], medium) == {"chair-video": SMALL}


def test_a_rise_is_shared_out_afresh_even_if_it_takes_a_picture_away() -> None:
    both = allocate(520, VOICES, [CHAIR, FLOOR])
    assert both == {"chair-video": SMALL, "floor-video": SMALL}
    assert allocate(560, VOICES, [CHAIR, FLOOR], both) == {"chair-video": MEDIUM, "floor-video": None}
